import Foundation
import Logging
import Metrics

/// Medical On-Demand: broadcasts each request to every available FMD of its area, and lets exactly one
/// claim win. One actor owns every request, so a claim is a compare-and-set however many arrive at once.
public actor ModService {
    private var requests: [String: ModRequest] = [:]
    private var changed = false
    private var timers: [String: Task<Void, Never>] = [:]

    private let snapshotURL: URL
    private let defaultTTL: Double
    private let journal: Journal
    private let directory: UserDirectory
    private let registry: SessionRegistry
    private let presence: PresenceService
    private let rooms: RoomService
    private let transport: any Transport
    private let audit: AuditLog
    private let logger = Logger(label: "liaison.mod")

    static let maxQuestionBytes = 4096
    static let maxAreaLength = 100
    static let maxTTL: Double = 86400
    /// How long a closed request is remembered, to answer late claims.
    static let closedRetentionMillis: Millis = 3_600_000

    /// Loads the open requests of the last snapshot and replays the journal's MOD records over them.
    init(dataDirectory: URL, journal: Journal, records: [Data], configuration: HubConfiguration,
         directory: UserDirectory, registry: SessionRegistry, presence: PresenceService, rooms: RoomService,
         transport: any Transport, audit: AuditLog) throws {
        snapshotURL = dataDirectory.appendingPathComponent("mod.json")
        defaultTTL = configuration.modTTL
        self.journal = journal
        self.directory = directory
        self.registry = registry
        self.presence = presence
        self.rooms = rooms
        self.transport = transport
        self.audit = audit
        let decoder = JSONDecoder()
        if let data = FileManager.default.contents(atPath: snapshotURL.path) {
            for request in try decoder.decode([ModRequest].self, from: data) { requests[request.id] = request }
        }
        for data in records {
            guard let record = try? decoder.decode(ModStateRecord.self, from: data), record.type == "mod.state" else { continue }
            requests[record.request.id] = record.request
            changed = true
        }
    }

    // MARK: Requests

    struct RequestResult: Encodable, Sendable {
        let request: String
        let offered: Int
    }

    /// Opens a request and offers it to every connected FMD of the tenant in `area` who is not `dnd`.
    func request(by caller: Caller, area: String, question: String, mode: ModRequest.Mode, ttl: Double?,
                 responder: Responder) async throws(ProtocolError) {
        let ttl = ttl ?? defaultTTL
        guard ttl > 0, ttl <= Self.maxTTL else {
            throw ProtocolError(.badRequest, "field 'ttl_s' must be more than 0 and at most \(Int(Self.maxTTL))")
        }
        let targets = await availableExperts(tenant: caller.record.tenant, area: area)
        let now = WallClock.now()
        var request = ModRequest(
            id: "m" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20),
            tenant: caller.record.tenant, requester: caller.record, area: area, question: question, mode: mode,
            createdAt: now, expiresAt: now + Millis(ttl * 1000))
        let offered = request.offer(to: targets)
        requests[request.id] = request
        let offer = FrameEncoder.event(ModOfferEvent(request))
        let peers = registry.sessions(ofAll: offered.map { UserKey(tenant: request.tenant, user: $0) }).map(\.peer)
        let result = RequestResult(request: request.id, offered: offered.count)
        persist(request) { [transport] in
            responder.ok(result)
            if !peers.isEmpty { transport.send(offer, to: peers) }
        }
        armExpiry(request)
        ModMetrics.requests.increment()
        ModMetrics.offers.increment(by: offered.count)
        audit.record(AuditEvent("mod.request", tenant: request.tenant, actor: request.requester, detail: [
            "request": request.id, "area": area, "mode": mode.rawValue, "offered": String(offered.count),
            "offered_to": offered.sorted().joined(separator: ","),
        ]))
    }

    struct ClaimResult: Encodable, Sendable {
        let request: String
        let room: String
    }

    /// The first claim wins: the winner and the requester get a `mod` room holding the question; the
    /// requester is told who claimed it, and every other offered device that it is taken.
    func claim(_ id: String, by caller: Caller, session: SessionID, responder: Responder) async throws(ProtocolError) {
        var request = try lookup(id, tenant: caller.record.tenant)
        guard caller.record.areas.contains(request.area) else {
            throw ProtocolError(.forbidden, "this request is for the area '\(request.area)', which is not yours")
        }
        let outcome = request.claim(by: caller.record.user, now: WallClock.now())
        let refusal: ErrorCode? = switch outcome {
        case .won: nil
        case .alreadyClaimed: .alreadyClaimed
        case .expired: .expired
        case .cancelled: .notFound
        }
        audit.record(AuditEvent("mod.claim", tenant: request.tenant, actor: caller.record.user, device: caller.device,
                                refused: refusal, detail: ["request": id, "outcome": "\(outcome)"]))
        switch outcome {
        case .won: break
        case .alreadyClaimed:
            ModMetrics.claimsLost.increment()
            throw ProtocolError(.alreadyClaimed, "request \(id) was already claimed")
        case .expired: throw ProtocolError(.expired, "request \(id) has expired")
        case .cancelled: throw ProtocolError(.notFound, "request \(id) was cancelled")
        }
        requests[id] = request  // decided before any suspension: no second winner
        timers.removeValue(forKey: id)?.cancel()
        ModMetrics.claimsWon.increment()
        ModMetrics.timeToClaim.recordMilliseconds(WallClock.now() - request.createdAt)

        let room = await rooms.create(kind: .mod, tenant: request.tenant, creator: request.requester,
                                members: [caller.record.user], title: String(request.question.prefix(80)), responder: nil)
        _ = try? await room.send(from: request.requester, body: request.question, clientMsgID: "mod:\(id)",
                                 kind: .text, responder: nil)
        request.opened(room: room.id)
        requests[id] = request

        let winner = caller.record
        let claimed = FrameEncoder.event(ModClaimedEvent(
            request: id, by: .init(user: winner.user, name: winner.name), room: room.id, mode: request.mode))
        let requesterPeers = registry.sessions(of: UserKey(tenant: request.tenant, user: request.requester)).map(\.peer)
        let takenPeers = registry.sessions(ofAll: request.offered.map { UserKey(tenant: request.tenant, user: $0) })
            .filter { $0.id != session }.map(\.peer)
        let taken = FrameEncoder.event(ModRequestEvent(type: "mod.taken", request: id))
        let result = ClaimResult(request: id, room: room.id)
        persist(request) { [transport] in
            responder.ok(result)
            if !requesterPeers.isEmpty { transport.send(claimed, to: requesterPeers) }
            if !takenPeers.isEmpty { transport.send(taken, to: takenPeers) }
        }
        audit.record(AuditEvent("mod.taken", tenant: request.tenant, actor: winner.user, detail: [
            "request": id, "room": room.id, "notified": String(takenPeers.count),
        ]))
    }

    /// `fmd` wants no more offers of request `id`.
    func decline(_ id: String, by caller: Caller, responder: Responder) throws(ProtocolError) {
        var request = try lookup(id, tenant: caller.record.tenant)
        guard request.status == .open else { throw closedError(request) }
        guard request.decline(by: caller.record.user) else {
            journal.afterPendingWrites { responder.ok(FrameEncoder.Empty()) }
            return
        }
        requests[id] = request
        persist(request) { responder.ok(FrameEncoder.Empty()) }
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
        requests[id] = request
        timers.removeValue(forKey: id)?.cancel()
        withdraw(request, reason: "cancelled", then: { responder.ok(FrameEncoder.Empty()) })
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
                requests[id] = request
                persist(request, then: nil)
            }
            frames.append(FrameEncoder.event(ModOfferEvent(request)))
        }
        return frames
    }

    // MARK: Expiry

    /// Starts the expiry timers of the open requests (after start-up).
    func armExpiryTimers() {
        for request in requests.values where request.status == .open { armExpiry(request) }
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
        requests[id] = request
        let expired = FrameEncoder.event(ModRequestEvent(type: "mod.expired", request: id))
        let requesterPeers = registry.sessions(of: UserKey(tenant: request.tenant, user: request.requester)).map(\.peer)
        withdraw(request, reason: "expired") { [transport] in
            if !requesterPeers.isEmpty { transport.send(expired, to: requesterPeers) }
        }
        ModMetrics.expired.increment()
        audit.record(AuditEvent("mod.expire", tenant: request.tenant, actor: request.requester, detail: ["request": id]))
    }

    private func withdraw(_ request: ModRequest, reason: String, then: @escaping @Sendable () -> Void) {
        let withdrawn = FrameEncoder.event(ModWithdrawnEvent(request: request.id, reason: reason))
        let peers = registry.sessions(ofAll: request.offered.map { UserKey(tenant: request.tenant, user: $0) }).map(\.peer)
        persist(request) { [transport] in
            then()
            if !peers.isEmpty { transport.send(withdrawn, to: peers) }
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
    private func availableExperts(tenant: String, area: String) async -> [String] {
        let experts = directory.users(tenant: tenant, role: .fmd).filter { $0.areas.contains(area) }.map(\.key)
        let connected = experts.filter { !registry.sessions(of: $0).isEmpty }
        let statuses = await presence.statuses(of: connected)
        return connected.filter { statuses[$0] != .dnd }.map(\.user).sorted()
    }

    /// Journals the request's state; `then` runs once it is durable.
    private func persist(_ request: ModRequest, then: (@Sendable () -> Void)?) {
        changed = true
        let bytes = (try? Array(JSONEncoder().encode(ModStateRecord(request: request)))) ?? []
        journal.append(.bytes(bytes), completion: then)
    }

    // MARK: Snapshots

    var hasChanges: Bool { changed }

    /// Writes the open requests, and those closed within the last hour (so a late claim still learns
    /// why it lost after a restart), to `mod.json` (temp file, sync, rename).
    func writeSnapshot() -> Bool {
        guard changed else { return true }
        changed = false
        let horizon = WallClock.now() - Self.closedRetentionMillis
        requests = requests.filter { $0.value.status == .open || $0.value.createdAt >= horizon }
        let kept = requests.values.sorted { $0.createdAt < $1.createdAt }
        do {
            let temporary = snapshotURL.appendingPathExtension("tmp")
            _ = FileManager.default.createFile(atPath: temporary.path, contents: nil)
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: try JSONEncoder().encode(kept))
            try handle.synchronize()
            try handle.close()
            guard rename(temporary.path, snapshotURL.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
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
