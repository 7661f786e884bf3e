import Foundation
import Logging

/// Rooms: creation, lookup, start-up recovery (snapshots, then the journal) and periodic snapshots.
public final class RoomService: Sendable {
    let context: RoomContext
    let roomsDirectory: String
    private let retention: RetentionPolicy?
    private let fileSystem: any FileSystem
    private let logger = Logger(label: "liaison.rooms")

    /// Loads every room snapshot and replays the journal's room records over them; finishes any erasure a
    /// crash interrupted.
    init(dataDirectory: String, journal: any JournalWriter, records: [Data], memoryMessages: Int, retention: RetentionPolicy?,
         transport: any Transport, registry: SessionRegistry, audit: AuditLog, directory: UserDirectory,
         push: PushService, fileSystem: any FileSystem) throws {
        roomsDirectory = Path.join(dataDirectory, "rooms")
        self.fileSystem = fileSystem
        self.retention = retention
        try fileSystem.makeDirectory(roomsDirectory)
        let recovery = try RoomRecovery(roomsDirectory: roomsDirectory, records: records, fileSystem: fileSystem)

        let index = RoomIndex()
        context = RoomContext(journal: journal, transport: transport, registry: registry, audit: audit,
                              index: index, directory: directory, push: push, memoryMessages: memoryMessages)
        for var state in recovery.states.values {
            if recovery.snapshots[state.id] != nil, finishErasure(&state) { index.markDirty(state.id) }
            let room = RoomActor(state: state, context: context, archive: archive(state.id),
                                 hydrated: state.archivedSeq == 0)
            let directKey = state.kind == .direct && state.members.count == 2
                ? RoomIndex.directKey(tenant: state.tenant, state.members[0], state.members[1]) : nil
            index.insert(room, members: state.members, directKey: directKey)
        }
        for room in recovery.changed { index.markDirty(room) }
        logger.info("loaded \(recovery.snapshots.count) room snapshots and replayed \(recovery.appliedRecords) journal records")
    }

    /// Overwrites the records of an erasure a crash interrupted (its tombstones were synced); true if
    /// there was one, so the next snapshot records it.
    private func finishErasure(_ state: inout RoomState) -> Bool {
        do {
            let erased = try archive(state.id).finishErasure(after: state.erasedSeq)
            guard erased > state.erasedSeq else { return false }
            state.erased(through: erased, tombstones: [])
            logger.info("room \(state.id): finished an interrupted erasure through seq \(erased)")
            return true
        } catch {
            logger.error("room \(state.id): an interrupted erasure could not be finished: \(error)")
            return false
        }
    }

    private func archive(_ room: String) -> RoomArchive {
        RoomArchive(roomsDirectory: roomsDirectory, room: room, fileSystem: fileSystem)
    }

    // MARK: Lookup

    /// The room `id`, if it exists in `tenant` (another tenant's room is simply not found).
    func room(_ id: String, tenant: String) throws(ProtocolError) -> RoomActor {
        guard let room = context.index.room(id), room.tenant == tenant else {
            throw ProtocolError(.notFound, "no room '\(id)'")
        }
        return room
    }

    func rooms(of user: UserKey) -> [RoomActor] { context.index.rooms(of: user) }

    /// Whether two users share a room (the policy lets room-mates see and reach each other).
    public func shareRoom(_ a: UserKey, _ b: UserKey) -> Bool { context.index.shareRoom(a, b) }

    // MARK: Creation

    /// Creates a room (a direct room is returned as it is if the pair already has one); `ok {room}` goes
    /// out once the creation is durable, and each added member gets `room.member joined` for themself
    /// (one event each, not one per pair: `room.list` has the members).
    @discardableResult
    func create(kind: RoomKind, tenant: String, creator: String, members: [String], title: String?,
                responder: Responder?) async -> RoomActor {
        var listed = [creator]
        for member in members where !listed.contains(member) { listed.append(member) }
        let everyone = listed
        let now = WallClock.now()
        let make = { [context, self] () -> RoomActor in
            let id = "r" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
            let state = RoomState(id: id, tenant: tenant, kind: kind, title: title, members: everyone, createdAt: now)
            return RoomActor(state: state, context: context, archive: archive(id), hydrated: true)
        }
        let room: RoomActor
        if kind == .direct, everyone.count == 2 {
            let (found, created) = context.index.directRoom(
                RoomIndex.directKey(tenant: tenant, everyone[0], everyone[1]), members: everyone, make: make)
            guard created else {
                // The pair's room already exists: whoever left it comes back.
                for member in everyone where !(await found.isMember(member)) {
                    await found.join(member, responder: nil)
                    context.audit.record(AuditEvent("room.join", tenant: tenant, actor: creator, detail: [
                        "room": found.id, "user": member,
                    ]))
                }
                context.journal.afterPendingWrites { responder?.ok(CreateResult(room: found.id)) }
                return found
            }
            room = found
        } else {
            room = make()
            context.index.insert(room, members: everyone, directKey: nil)
        }
        context.index.markDirty(room.id)
        let record = RoomRecord.Created(room: room.id, tenant: tenant, kind: kind, title: title, members: everyone, ts: now)
        let joined = everyone.dropFirst().map { member in
            (member, FrameEncoder.event(MemberEvent(
                room: room.id, user: member, name: context.directory.name(of: member, tenant: tenant), action: "joined")))
        }
        context.journal.append(.bytes(RoomRecord.encode(record))) { [context] in
            responder?.ok(CreateResult(room: room.id))
            for (member, event) in joined { context.deliver(event, to: [member], tenant: tenant) }
        }
        context.audit.record(AuditEvent("room.create", tenant: tenant, actor: creator, detail: [
            "room": room.id, "kind": kind.rawValue, "members": everyone.joined(separator: ","),
        ]))
        return room
    }

    struct CreateResult: Encodable, Sendable {
        let room: String
    }

    // MARK: Snapshots

    /// Whether any room changed since its last snapshot.
    var hasChanges: Bool { context.index.hasDirty }

    /// Whether retention has messages of some room to erase, sent before `cutoff`.
    func retentionDue(before cutoff: Millis) async -> Bool {
        for room in context.index.all() where await room.retentionDue(before: cutoff) { return true }
        return false
    }

    /// Writes a snapshot of every room changed since the last one, and erases what retention says is
    /// due (a room with messages to erase is snapshotted too). Returns false if any failed (they stay
    /// marked for the next cycle). Call after rotating the journal.
    func writeSnapshots(io: IOQueue) async -> Bool {
        let started = ContinuousClock.now
        var rooms = context.index.takeDirty()
        let now = WallClock.now()
        let cutoff = retention.map { $0.cutoff(now: now) }
        var due: Set<String> = []
        if let cutoff {
            let dirty = Set(rooms.map(\.id))
            for room in context.index.all() where await room.retentionDue(before: cutoff) {
                due.insert(room.id)
                if !dirty.contains(room.id) { rooms.append(room) }
            }
        }
        var succeeded = true
        for room in rooms {
            let (meta, unarchived, archivedSeq) = await room.snapshotContent()
            let archive = archive(room.id)
            let eraseBefore = due.contains(room.id) ? cutoff : nil
            do {
                let plan = try await io.run { [self] () -> RoomArchive.ErasurePlan? in
                    var meta = meta
                    try archive.append(unarchived, after: archivedSeq)
                    let plan = try eraseBefore.flatMap { try erase(archive, meta: meta, before: $0, now: now) }
                    if let plan { meta.erasedThrough = plan.through }
                    try archive.write(meta)
                    return plan
                }
                await room.archived(through: meta.lastSeq)
                if let plan {
                    await room.erased(through: plan.through, tombstones: plan.tombstones, nextTs: plan.nextTs)
                }
            } catch {
                succeeded = false
                context.index.markDirty(room.id)
                logger.error("snapshot of room \(room.id) failed: \(error)")
            }
        }
        if !rooms.isEmpty {
            RoomMetrics.snapshotSeconds.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            RoomMetrics.snapshotRooms.record(rooms.count)
        }
        return succeeded
    }

    /// On the storage queue: erases the archived messages of a room that are due (none if it is held).
    /// The audit record is synced before any body is overwritten, so no erasure goes unrecorded.
    private func erase(_ archive: RoomArchive, meta: RoomArchive.Meta, before cutoff: Millis, now: Millis) throws
        -> RoomArchive.ErasurePlan?
    {
        guard let retention, meta.held != true else { return nil }
        let committed = try archive.finishErasure(after: meta.erasedThrough ?? 0)
        let plan = try archive.planErasure(after: committed, through: meta.lastSeq, before: cutoff,
                                           limit: retention.batchLimit, now: now)
        guard let range = plan.range else { return plan }
        context.audit.record(AuditEvent("retention.erase", tenant: meta.tenant, detail: [
            "room": meta.id, "from_seq": String(range.lowerBound), "to_seq": String(range.upperBound),
            "count": String(range.count), "before": String(cutoff), "days": String(retention.days),
        ]))
        context.audit.flush()
        try archive.commit(plan, after: committed)
        return plan
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
