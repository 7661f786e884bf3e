import Crypto
import Foundation
import Synchronization

/// Owns one room's `RoomState` and performs what it decides: every change goes to the journal, and its
/// reply and events go out once the change is durable.
actor RoomActor {
    nonisolated let id: String
    nonisolated let tenant: String
    nonisolated let kind: RoomKind
    private var state: RoomState
    private let context: RoomContext
    private let archive: RoomArchive
    /// Messages up to here are durable: replay never sends past it.
    private let durableSeq: Atomic<UInt64>
    /// Whether the latest archived messages have been read back into memory.
    private var hydrated: Bool
    /// The `ts` of the first message retention has not erased, once known.
    private var firstUnerasedTs: Millis?

    init(state: RoomState, context: RoomContext, archive: RoomArchive, hydrated: Bool) {
        id = state.id
        tenant = state.tenant
        kind = state.kind
        self.state = state
        self.context = context
        self.archive = archive
        self.hydrated = hydrated
        durableSeq = Atomic(state.lastSeq)
    }

    var members: [String] { state.members }

    /// Called in journal order, as each message becomes durable.
    private nonisolated func markDurable(_ seq: UInt64) {
        durableSeq.store(seq, ordering: .releasing)
    }

    func summary(for user: String) -> RoomSummary {
        var summary = state.summary(for: user)
        summary.memberNames = Dictionary(uniqueKeysWithValues: state.members.map { ($0, name($0)) })
        return summary
    }

    private func name(_ user: String) -> String { context.directory.name(of: user, tenant: tenant) }

    // MARK: Messages

    struct SendResult: JSONWritable, Sendable {
        let room: String
        let seq: UInt64
        let ts: Millis

        func writeFields(to writer: inout JSONWriter) {
            writer.field("room", room)
            writer.field("seq", seq)
            writer.field("ts", ts)
        }
    }

    /// Appends a message; the sender's `ok` and everyone's `msg` go out once it is durable. A resend of
    /// a `client_msg_id` answers with the first message's `ok` and appends nothing.
    @discardableResult
    func send(from: String, fromName: String? = nil, body: String, attachments: [Attachment] = [], clientMsgID: String?,
              kind: MessageKind, responder: Responder?)
        throws(ProtocolError) -> UInt64
    {
        guard kind == .system || state.isMember(from) else { throw ProtocolError(.notMember, "not a member of room \(id)") }
        hydrate()
        if let clientMsgID, let first = resend(from: from, clientMsgID: clientMsgID) {
            let result = SendResult(room: id, seq: first.seq, ts: first.ts)
            context.journal.afterPendingWrites { responder?.ok(result) }
            return first.seq
        }
        let seq = state.nextSeq
        let ts = WallClock.now()
        let senderName = fromName ?? name(from)
        let frame = FrameEncoder.event(MessageEvent(
            room: id, seq: seq, from: from, fromName: senderName, body: body, ts: ts, clientMsgID: clientMsgID,
            kind: kind, attachments: attachments))
        state.append(StoredMessage(seq: seq, from: from, clientMsgID: clientMsgID, ts: ts, frame: frame))
        context.index.markDirty(id)
        let (members, tenant, room, context) = (state.members, tenant, id, context)
        RoomMetrics.messages.increment()
        context.journal.append(.frame(frame)) { [self] in
            markDurable(seq)
            responder?.ok(SendResult(room: room, seq: seq, ts: ts))
            context.deliver(frame, to: members, tenant: tenant, seq: (room, seq))
            guard kind == .text else { return }
            let recipients = context.push.withPushers(members.lazy.filter { $0 != from }.map { UserKey(tenant: tenant, user: $0) })
            guard !recipients.isEmpty else { return }
            context.push.messageDurable(room: room, seq: seq, sender: from, senderName: senderName, body: body, ts: ts,
                                        recipients: recipients)
        }
        let digest = Hex.encode(SHA256.hash(data: Data(body.utf8)))
        var detail = [
            "room": id, "seq": String(seq), "size": String(body.utf8.count), "sha256": digest, "kind": kind.rawValue,
        ]
        if !attachments.isEmpty { detail["files"] = attachments.map(\.file).joined(separator: ",") }
        context.audit.record(AuditEvent("msg.send", tenant: tenant, actor: from, detail: detail))
        state.trim(keeping: context.memoryMessages)
        return seq
    }

    /// The earlier message with this sender and `client_msg_id`, however old.
    private func resend(from: String, clientMsgID: String) -> StoredMessage? {
        guard let seq = state.resendCandidate(from: from, clientMsgID: clientMsgID),
              let message = try? messages(seq...seq).first,
              message.from == from, message.clientMsgID == clientMsgID
        else { return nil }
        return message
    }

    /// Up to `limit` messages before `before` (default: the newest), oldest first.
    func history(user: String, before: UInt64?, limit: Int) throws(ProtocolError) -> [OutboundFrame] {
        guard state.isMember(user) else { throw ProtocolError(.notMember, "not a member of room \(id)") }
        // Only durable messages: history never shows what a crash could still take back.
        let durable = durableSeq.load(ordering: .acquiring)
        let upper = min(before.map { $0 &- 1 } ?? durable, durable)
        guard upper >= 1, limit > 0 else { return [] }
        let lower = upper >= UInt64(limit) ? upper - UInt64(limit) + 1 : 1
        return try messages(lower...upper).map(\.frame)
    }

    /// The newest durable message's seq: where an offline replay that starts now ends (what becomes durable
    /// later reaches the replaying session live).
    nonisolated var lastDurableSeq: UInt64 { durableSeq.load(ordering: .acquiring) }

    /// Up to `limit` durable messages after `seq` (by default after `user`'s ack) and up to `through` (by
    /// default the newest durable one), oldest first: the offline replay, a page at a time.
    func unacked(user: String, after seq: UInt64? = nil, through: UInt64? = nil, limit: Int)
        throws(ProtocolError) -> [StoredMessage]
    {
        let from = (seq ?? state.acked[user] ?? 0) + 1
        let upper = min(durableSeq.load(ordering: .acquiring), through ?? .max)
        guard state.isMember(user), from <= upper, limit > 0 else { return [] }
        return try messages(from...min(upper, from + UInt64(limit) - 1))
    }

    /// Messages in `range` from memory, reading older ones from the archive.
    private func messages(_ range: ClosedRange<UInt64>) throws(ProtocolError) -> [StoredMessage] {
        hydrate()
        let (inMemory, firstMissing) = state.messages(range)
        guard let firstMissing, let firstInMemory = inMemory.first?.seq ?? Optional(range.upperBound + 1),
              firstMissing < firstInMemory else { return inMemory }
        do {
            return try archive.read(firstMissing...(firstInMemory - 1)) + inMemory
        } catch {
            throw ProtocolError(.internal, "the history of room \(id) could not be read")
        }
    }

    /// Reads the resend index and the latest archived messages back into memory, once.
    private func hydrate() {
        guard !hydrated else { return }
        // Without its resend index a room could accept a resend twice: retry on the next call instead.
        guard let resends = try? archive.readResends() else { return }
        hydrated = true
        state.indexResends(resends)
        let missing = UInt64(max(0, context.memoryMessages - Int(state.lastSeq - min(state.lastSeq, state.archivedSeq))))
        let floor = state.archivedSeq
        guard missing > 0, floor > 0, let older = try? archive.read(max(1, floor >= missing ? floor - missing + 1 : 1)...floor)
        else { return }
        state.prepend(older)
    }

    // MARK: Membership

    /// Adds `user`; members (and `user`) get `room.member joined` once it is durable.
    func join(_ user: String, responder: Responder?) {
        guard state.join(user) else {
            context.journal.afterPendingWrites { responder?.ok() }
            return
        }
        context.index.addMember(UserKey(tenant: tenant, user: user), room: id)
        journalMembership(user: user, action: "joined", responder: responder)
    }

    /// Removes `user`; members and `user` get `room.member left` once it is durable.
    func leave(_ user: String, responder: Responder?) throws(ProtocolError) {
        guard state.leave(user) else { throw ProtocolError(.notMember, "not a member of room \(id)") }
        context.index.removeMember(UserKey(tenant: tenant, user: user), room: id)
        journalMembership(user: user, action: "left", responder: responder)
    }

    private func journalMembership(user: String, action: String, responder: Responder?) {
        context.index.markDirty(id)
        let recipients = state.members + (action == "left" ? [user] : [])
        let event = FrameEncoder.event(MemberEvent(room: id, user: user, name: name(user), action: action))
        let (tenant, context) = (tenant, context)
        context.journal.append(.bytes(RoomRecord.encode(RoomRecord.Member(room: id, user: user, action: action)))) {
            responder?.ok()
            context.deliver(event, to: recipients, tenant: tenant)
        }
    }

    func isMember(_ user: String) -> Bool { state.isMember(user) }

    /// Under legal hold (`room.hold`): retention leaves it, and the files shared in it, alone.
    var isHeld: Bool { state.held }

    // MARK: Cursors and typing

    /// Cumulative ack of everything up to `seq`.
    func ack(_ user: String, through seq: UInt64, responder: Responder) throws(ProtocolError) {
        try checkCursor(user, seq)
        guard state.ack(user, through: seq) else {
            context.journal.afterPendingWrites { responder.ok() }
            return
        }
        context.index.markDirty(id)
        let record = RoomRecord.Cursor(type: "msg.ack", room: id, user: user, seq: seq)
        context.journal.append(.bytes(RoomRecord.encode(record))) { responder.ok() }
    }

    /// Marks read up to `seq`; the other members get a `receipt`.
    func markRead(_ user: String, through seq: UInt64, responder: Responder) throws(ProtocolError) {
        try checkCursor(user, seq)
        guard state.markRead(user, through: seq) else {
            context.journal.afterPendingWrites { responder.ok() }
            return
        }
        context.index.markDirty(id)
        let others = state.members.filter { $0 != user }
        let receipt = FrameEncoder.event(ReceiptEvent(room: id, user: user, name: name(user), seq: seq))
        let record = RoomRecord.Cursor(type: "msg.read", room: id, user: user, seq: seq)
        let (tenant, context, room) = (tenant, context, id)
        context.journal.append(.bytes(RoomRecord.encode(record))) {
            responder.ok()
            context.deliver(receipt, to: others, tenant: tenant)
            let reader = UserKey(tenant: tenant, user: user)
            guard !context.push.withPushers([reader]).isEmpty else { return }
            Task { await context.push.read(reader, room: room, through: seq) }
        }
    }

    private func checkCursor(_ user: String, _ seq: UInt64) throws(ProtocolError) {
        guard state.isMember(user) else { throw ProtocolError(.notMember, "not a member of room \(id)") }
        guard seq <= state.lastSeq else {
            throw ProtocolError(.badRequest, "seq \(seq) is beyond the room's last message (\(state.lastSeq))")
        }
    }

    /// Tells the other members `user` is typing.
    func typing(_ user: String) throws(ProtocolError) {
        guard state.isMember(user) else { throw ProtocolError(.notMember, "not a member of room \(id)") }
        let others = state.members.filter { $0 != user }
        context.deliver(FrameEncoder.event(TypingEvent(room: id, user: user, name: name(user))), to: others, tenant: tenant)
    }

    // MARK: Legal hold

    /// Puts the room under legal hold (retention erases nothing in it) or releases it; `ok` once durable.
    func hold(_ on: Bool, responder: Responder) {
        guard state.hold(on) else {
            context.journal.afterPendingWrites { responder.ok() }
            return
        }
        context.index.markDirty(id)
        context.journal.append(.bytes(RoomRecord.encode(RoomRecord.Hold(room: id, on: on)))) { responder.ok() }
    }

    // MARK: Snapshots

    /// What a snapshot writes: the metadata and the messages not yet archived.
    func snapshotContent() -> (meta: RoomArchive.Meta, unarchived: [StoredMessage], archivedSeq: UInt64) {
        let meta = RoomArchive.Meta(
            id: id, tenant: tenant, kind: kind, title: state.title, createdAt: state.createdAt, members: state.members,
            lastSeq: state.lastSeq, acked: state.acked, read: state.read, snapshotAt: WallClock.now(),
            held: state.held, erasedThrough: state.erasedSeq)
        return (meta, state.unarchived, state.archivedSeq)
    }

    /// The archive now holds everything up to `seq`: older messages may leave memory.
    func archived(through seq: UInt64) {
        state.archived(through: seq)
        state.trim(keeping: context.memoryMessages)
    }

    /// Whether retention has messages sent before `cutoff` to erase here (or may have: the first one not
    /// erased is not known yet).
    func retentionDue(before cutoff: Millis) -> Bool {
        guard !state.held, state.erasedSeq < state.lastSeq else { return false }
        if firstUnerasedTs == nil { firstUnerasedTs = state.message(state.erasedSeq + 1)?.ts }
        return firstUnerasedTs.map { $0 < cutoff } ?? true
    }

    /// Retention erased messages up to `seq`: their tombstones replace them in memory.
    func erased(through seq: UInt64, tombstones: [StoredMessage], nextTs: Millis?) {
        state.erased(through: seq, tombstones: tombstones)
        firstUnerasedTs = nextTs
    }
}
