import Foundation
import Logging
import Metrics

/// Medical On-Demand: broadcasts each request to every available FMD of its area, and lets exactly one
/// claim win. One actor owns every request, so a claim is a compare-and-set however many arrive at once.
public actor ModService {
    private var requests: [String: ModRequest] = [:]
    private var changed = false
    private var timers: [String: Task<Void, Never>] = [:]

    private let snapshotPath: String
    private let fileSystem: any FileSystem
    private let defaultTTL: Double
    private let journal: any JournalWriter
    private let directory: UserDirectory
    private let registry: SessionRegistry
    private let presence: PresenceService
    private let rooms: RoomService
    private let push: PushService
    private let transport: any Transport
    private let audit: AuditLog
    private let logger = Logger(label: "liaison.mod")

    static let maxQuestionBytes = 4096
    static let maxAreaLength = 100
    static let maxTTL: Double = 86400
    /// How long a closed request is remembered, to answer late claims.
    static let closedRetentionMillis: Millis = 3_600_000

    /// Loads the open requests of the last snapshot and replays the journal's MOD records over them.
    init(dataDirectory: String, journal: any JournalWriter, records: [Data], configuration: HubConfiguration,
         directory: UserDirectory, registry: SessionRegistry, presence: PresenceService, rooms: RoomService,
         push: PushService, transport: any Transport, audit: AuditLog, fileSystem: any FileSystem) throws {
        snapshotPath = Path.join(dataDirectory, "mod.json")
        self.fileSystem = fileSystem
        defaultTTL = configuration.modTTL
        self.journal = journal
        self.directory = directory
        self.registry = registry
        self.presence = presence
        self.rooms = rooms
        self.push = push
        self.transport = transport
        self.audit = audit
        let decoder = JSONDecoder()
        if let data = try fileSystem.contents(of: snapshotPath) {
            for request in try decoder.decode([ModRequest].self, from: Data(data)) { requests[request.id] = request }
        }
        for data in records where JournalRecordType.may(data, be: "mod.state") {
            guard let record = try? decoder.decode(ModStateRecord.self, from: data), record.type == "mod.state" else { continue }
            requests[record.request.id] = record.request
            changed = true
        }
    }

    // MARK: Requests

    struct RequestResult: JSONWritable, Sendable {
        let request: String
        let offered: Int

        func writeFields(to writer: inout JSONWriter) {
            writer.field("request", request)
            writer.field("offered", offered)
        }
    }

    /// Opens a request and offers it to every connected FMD of the tenant in `area` who is not `dnd`; those
    /// with no connected device are woken by push, unless they left in `dnd`.
    func request(by caller: Caller, area: String, question: String, mode: ModRequest.Mode, ttl: Double?,
                 responder: Responder) async throws(ProtocolError) {
        let ttl = ttl ?? defaultTTL
        guard ttl > 0, ttl <= Self.maxTTL else {
            throw ProtocolError(.badRequest, "field 'ttl_s' must be more than 0 and at most \(Int(Self.maxTTL))")
        }
        let (targets, away) = await experts(tenant: caller.record.tenant, area: area)
        let now = WallClock.now()
        var request = ModRequest(
            id: "m" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20),
            tenant: caller.record.tenant, requester: caller.record, area: area, question: question, mode: mode,
            createdAt: now, expiresAt: now + Millis(ttl * 1000))
        let offered = request.offer(to: targets)
        let offer = FrameEncoder.event(ModOfferEvent(request))
        let peers = registry.peers(ofAll: offered.map { UserKey(tenant: request.tenant, user: $0) })
        let result = RequestResult(request: request.id, offered: offered.count)
        try persist(request) { [transport] in
            responder.ok(result)
            transport.broadcast(offer, to: peers)
        }
        requests[request.id] = request
        armExpiry(request)
        let pushed = push.withPushers(away)
        if !pushed.isEmpty { await push.modOffer(request, to: pushed) }
        ModMetrics.requests.increment()
        ModMetrics.offers.increment(by: offered.count)
        audit.record(AuditEvent("mod.request", tenant: request.tenant, actor: request.requester, detail: [
            "request": request.id, "area": area, "mode": mode.rawValue, "offered": String(offered.count),
            "offered_to": offered.sorted().joined(separator: ","),
        ]))
    }

    struct ClaimResult: JSONWritable, Sendable {
        let request: String
        let room: String

        func writeFields(to writer: inout JSONWriter) {
            writer.field("request", request)
            writer.field("room", room)
        }
    }

    /// The first claim wins: the winner and the requester get a `mod` room holding the question; the
    /// requester is told who claimed it, and every other offered device that it is taken.
    ///
    /// The win is decided and journaled before any suspension, and a losing claim is answered only once
    /// everything journaled before it is durable, so no loser is ever told of a winner a crash could undo.
    func claim(_ id: String, by caller: Caller, session: SessionID, responder: Responder) async throws(ProtocolError) {
        var request = try lookup(id, tenant: caller.record.tenant)
        guard caller.record.areas.contains(request.area) else {
            throw ProtocolError(.forbidden, "this request is for the area '\(request.area)', which is not yours")
        }
        let outcome = request.claim(by: caller.record.user, now: WallClock.now())
        let refusal: ProtocolError? = switch outcome {
        case .won: nil
        case .alreadyClaimed: ProtocolError(.alreadyClaimed, "request \(id) was already claimed")
        case .expired: ProtocolError(.expired, "request \(id) has expired")
        case .cancelled: ProtocolError(.notFound, "request \(id) was cancelled")
        }
        audit.record(AuditEvent("mod.claim", tenant: request.tenant, actor: caller.record.user, device: caller.device,
                                refused: refusal?.code, detail: ["request": id, "outcome": "\(outcome)"]))
        if let refusal {
            if outcome == .alreadyClaimed { ModMetrics.claimsLost.increment() }
            journal.afterPendingWrites { responder.refuse(refusal) }
            return
        }
        try persist(request, then: nil)
        requests[id] = request  // decided and journaled before any suspension: no second winner
        timers.removeValue(forKey: id)?.cancel()
        await push.withdraw(id)
        ModMetrics.claimsWon.increment()
        ModMetrics.timeToClaim.recordMilliseconds(WallClock.now() - request.createdAt)
        await openRoom(for: id, winner: caller.record, winningSession: session, responder: responder)
    }

    /// Puts the winner and the requester of claimed request `id` in a `mod` room holding the question,
    /// then tells the winner (`responder`), the requester and the other offered FMDs.
    private func openRoom(for id: String, winner: UserRecord, winningSession: SessionID?, responder: Responder?) async {
        guard var request = requests[id] else { return }
        let room = await rooms.create(kind: .mod, tenant: request.tenant, creator: request.requester,
                                members: [winner.user], title: String(request.question.prefix(80)), responder: nil)
        _ = try? await room.send(from: request.requester, body: request.question, clientMsgID: "mod:\(id)",
                                 kind: .text, responder: nil)
        request.opened(room: room.id)
        let claimed = FrameEncoder.event(ModClaimedEvent(
            request: id, by: .init(user: winner.user, name: winner.name), room: room.id, mode: request.mode))
        let requesterPeers = registry.peers(of: UserKey(tenant: request.tenant, user: request.requester))
        let takenPeers = registry.peers(ofAll: request.offered.map { UserKey(tenant: request.tenant, user: $0) },
                                        excluding: winningSession)
        let taken = FrameEncoder.event(ModRequestEvent(type: "mod.taken", request: id))
        let result = ClaimResult(request: id, room: room.id)
        do {
            try persist(request) { [transport] in
                responder?.ok(result)
                transport.broadcast(claimed, to: requesterPeers)
                transport.broadcast(taken, to: takenPeers)
            }
        } catch {
            responder?.refuse(error)
            return
        }
        requests[id] = request
        audit.record(AuditEvent("mod.taken", tenant: request.tenant, actor: winner.user, detail: [
            "request": id, "room": room.id, "notified": String(takenPeers.count),
        ]))
    }

    /// `fmd` wants no more offers of request `id`.
    func decline(_ id: String, by caller: Caller, responder: Responder) throws(ProtocolError) {
        var request = try lookup(id, tenant: caller.record.tenant)
        guard request.status == .open else { throw closedError(request) }
        guard request.decline(by: caller.record.user) else {
            journal.afterPendingWrites { responder.ok() }
            return
        }
        try persist(request) { responder.ok() }
        requests[id] = request
        audit.record(AuditEvent("mod.decline", tenant: request.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["request": id]))
    }

    /// The requester withdraws request `id`; offered FMDs get `mod.withdrawn` (cancelled).
    func cancel(_ id: String, by caller: Caller, responder: Responder) throws(ProtocolError) {
        var request = try lookup(id, tenant: caller.record.tenant)
        guard request.requester == caller.record.user else {
            throw ProtocolError(.forbidden, "only the requester may cancel request \(id)")
        }
        guard request.cancel() else { throw closedError(request) }
        try withdraw(request, reason: "cancelled", then: { responder.ok() })
        requests[id] = request
        timers.removeValue(forKey: id)?.cancel()
        audit.record(AuditEvent("mod.cancel", tenant: request.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["request": id]))
    }

    /// The offers an FMD should see now: every open request of their areas they have not declined (with
    /// `onlyNew`, only those not offered to them before), unless the user is `dnd` (on any device). They
    /// count as offered from now on.
    func offers(for caller: Caller, onlyNew: Bool = false) async -> [OutboundFrame] {
        guard caller.role == .fmd else { return [] }
        guard await presence.statuses(of: [caller.key])[caller.key] != .dnd else { return [] }
        let now = WallClock.now()
        var frames: [OutboundFrame] = []
        for (id, var request) in requests.sorted(by: { $0.value.createdAt < $1.value.createdAt })
        where request.tenant == caller.record.tenant && caller.record.areas.contains(request.area)
            && request.isOffered(to: caller.record.user) && request.expiresAt > now {
            let alreadyOffered = request.offered.contains(caller.record.user)
            if onlyNew && alreadyOffered { continue }
            if !alreadyOffered {
                _ = request.offer(to: [caller.record.user])
                guard (try? persist(request, then: nil)) != nil else { continue }
                requests[id] = request
                audit.record(AuditEvent("mod.offer", tenant: request.tenant, actor: request.requester, detail: [
                    "request": id, "offered_to": caller.record.user,
                ]))
            }
            frames.append(FrameEncoder.event(ModOfferEvent(request)))
        }
        return frames
    }

    // MARK: Expiry

    /// After start-up: arms the expiry timers of the open requests, and opens the room of any request
    /// whose winning claim was durable when the process stopped but whose room was not yet.
    func resumeAfterStart() async {
        for request in requests.values where request.status == .open { armExpiry(request) }
        let unopened = requests.values.filter { $0.status == .claimed && $0.room == nil }
        for request in unopened.sorted(by: { $0.createdAt < $1.createdAt }) {
            guard let winner = request.claimedBy.flatMap({ directory.lookup(UserKey(tenant: request.tenant, user: $0)) })
            else {
                logger.error("MOD request \(request.id) was claimed by an unknown user; its room cannot be opened")
                continue
            }
            await openRoom(for: request.id, winner: winner, winningSession: nil, responder: nil)
        }
    }

    private func armExpiry(_ request: ModRequest) {
        let delay = max(0, request.expiresAt - WallClock.now())
        let id = request.id
        timers[id] = Task { [weak self] in
            guard (try? await Task.sleep(for: .milliseconds(delay))) != nil else { return }
            await self?.expire(id)
        }
    }

    private func expire(_ id: String) {
        timers[id] = nil
        guard var request = requests[id], request.expire(now: WallClock.now()) else { return }
        let expired = FrameEncoder.event(ModRequestEvent(type: "mod.expired", request: id))
        let requesterPeers = registry.peers(of: UserKey(tenant: request.tenant, user: request.requester))
        do {
            try withdraw(request, reason: "expired") { [transport] in
                transport.broadcast(expired, to: requesterPeers)
            }
        } catch {
            logger.error("MOD request \(id) could not be journaled as expired: \(error)")
            return
        }
        requests[id] = request
        ModMetrics.expired.increment()
        audit.record(AuditEvent("mod.expire", tenant: request.tenant, actor: request.requester, detail: ["request": id]))
    }

    private func withdraw(_ request: ModRequest, reason: String, then: @escaping @Sendable () -> Void)
        throws(ProtocolError)
    {
        Task { [push] in await push.withdraw(request.id) }
        let withdrawn = FrameEncoder.event(ModWithdrawnEvent(request: request.id, reason: reason))
        let peers = registry.peers(ofAll: request.offered.map { UserKey(tenant: request.tenant, user: $0) })
        try persist(request) { [transport] in
            then()
            transport.broadcast(withdrawn, to: peers)
        }
    }

    // MARK: Support

    private func lookup(_ id: String, tenant: String) throws(ProtocolError) -> ModRequest {
        guard let request = requests[id], request.tenant == tenant else { throw ProtocolError(.notFound, "no request '\(id)'") }
        return request
    }

    private func closedError(_ request: ModRequest) -> ProtocolError {
        switch request.status {
        case .claimed: ProtocolError(.alreadyClaimed, "request \(request.id) was already claimed")
        case .expired: ProtocolError(.expired, "request \(request.id) has expired")
        case .cancelled, .open: ProtocolError(.notFound, "request \(request.id) was cancelled")
        }
    }

    /// Connected FMDs of `tenant` whose areas hold `area` and who are not `dnd`.
    /// The FMDs of `area`: those connected and not `dnd` (offered now), and those with no connected
    /// device who did not leave in `dnd` (woken by push).
    private func experts(tenant: String, area: String) async -> (available: [String], away: [UserKey]) {
        let experts = directory.users(tenant: tenant, role: .fmd).filter { $0.areas.contains(area) }.map(\.key)
        let (connected, away) = (experts.filter { registry.isConnected($0) }, experts.filter { !registry.isConnected($0) })
        let statuses = await presence.statuses(of: connected)
        let leftInDoNotDisturb = await presence.leftInDoNotDisturb(away)
        return (connected.filter { statuses[$0] != .dnd }.map(\.user).sorted(),
                away.filter { !leftInDoNotDisturb.contains($0) })
    }

    /// Journals the request's state; `then` runs once it is durable. Throws, journaling nothing, if the
    /// state cannot be encoded: callers store the new state only after this succeeds.
    private func persist(_ request: ModRequest, then: (@Sendable () -> Void)?) throws(ProtocolError) {
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(ModStateRecord(request: request)))
        } catch {
            logger.error("MOD request \(request.id) could not be encoded: \(error)")
            throw ProtocolError(.internal, "request \(request.id) could not be stored")
        }
        changed = true
        journal.append(.bytes(bytes), completion: then)
    }

    // MARK: Snapshots

    var hasChanges: Bool { changed }

    /// Writes the open requests, and those closed within the last hour (so a late claim still learns
    /// why it lost after a restart), to `mod.json` (temp file, sync, rename, directory sync) on `io`, so
    /// claims are not held up by the disk meanwhile.
    func writeSnapshot(io: IOQueue) async -> Bool {
        guard changed else { return true }
        changed = false
        let horizon = WallClock.now() - Self.closedRetentionMillis
        requests = requests.filter { $0.value.status == .open || $0.value.createdAt >= horizon }
        let kept = requests.values.sorted { $0.createdAt < $1.createdAt }
        do {
            try await io.replace(snapshotPath, withJSONOf: kept, fileSystem: fileSystem)
            return true
        } catch {
            changed = true
            logger.error("MOD snapshot failed: \(error)")
            return false
        }
    }
}

/// MOD metrics.
enum ModMetrics {
    static let requests = Counter(label: "liaison_mod_requests_total")
    static let offers = Counter(label: "liaison_mod_offers_total")
    static let claimsWon = Counter(label: "liaison_mod_claims_total", dimensions: [("outcome", "won")])
    static let claimsLost = Counter(label: "liaison_mod_claims_total", dimensions: [("outcome", "lost")])
    static let expired = Counter(label: "liaison_mod_expired_total")
    static let timeToClaim = Timer(label: "liaison_mod_time_to_claim_seconds")
}

extension Timer {
    func recordMilliseconds(_ millis: Millis) { recordNanoseconds(millis * 1_000_000) }
}
