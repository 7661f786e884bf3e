import Foundation
import Synchronization
import LiaisonSync

/// One connection's session: it authenticates with `hello`, then handles requests strictly in arrival order.
///
/// Inputs go into a mailbox; a task drains it only while it is non-empty, so an idle connection costs no
/// task, and replies keep the order of requests. Everything below `mailbox` is touched only by that one
/// drain at a time (each hand-over passes through the mailbox's lock); other services learn who a session
/// is from the `SessionRegistry`, never from its state here.
///
/// The transport owns its connection, and the connection owns its session; the session refers back to
/// the connection weakly, so a finished connection and its session are freed whatever else is pending.
public final class Session: @unchecked Sendable {
    public let id = SessionID.next()
    /// The connection, while it exists; set once by `start(peer:)` before any input.
    public private(set) weak var peer: (any Peer)?
    let hub: Hub

    /// Sessions alive in this process (created and not yet freed): what a leak test watches.
    public static var liveCount: Int { live.load(ordering: .relaxed) }
    private static let live = Atomic<Int>(0)

    enum Input {
        /// A text message, and when its last byte arrived (where a request's handling time starts).
        case text(Data, ContinuousClock.Instant)
        case binary
        case helloTimeout
        case closed
    }

    private struct Mailbox {
        var inputs: [Input] = []
        var draining = false
        var closed = false
    }

    private let mailbox = Locked(Mailbox())
    /// Holds live messages while the offline replay runs (at most the outbox limit's worth).
    let syncGate: SyncGate

    enum Phase {
        case awaitingHello
        case active(Caller)
        case ended
    }

    private(set) var phase: Phase = .awaitingHello
    private var limiter: RateLimiter
    private var helloTimer: Task<Void, Never>?

    init(hub: Hub) {
        self.hub = hub
        let rate = hub.configuration.rateLimit
        limiter = RateLimiter(rate: rate, burst: rate * 2)
        syncGate = SyncGate(limit: hub.transport.backlogLimit)
        Self.live.add(1, ordering: .relaxed)
    }

    deinit {
        helloTimer?.cancel()
        Self.live.subtract(1, ordering: .relaxed)
    }

    /// Attaches the connection and arms the hello timeout. Called once, before any input.
    public func start(peer: any Peer) {
        self.peer = peer
        let timeout = Duration.milliseconds(Int64(hub.configuration.helloTimeout * 1000))
        helloTimer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.enqueue(.helloTimeout)
        }
    }

    // MARK: Transport inputs

    /// A complete text message arrived.
    public func receive(text: Data) { enqueue(.text(text, .now)) }

    /// A binary message arrived (the protocol has none).
    public func receiveBinary() { enqueue(.binary) }

    /// The connection is gone.
    public func disconnected() { enqueue(.closed) }

    /// Whether the transport reported the connection gone (readable from the replay while it waits).
    var isClosed: Bool { mailbox.withLock { $0.closed } }

    private func enqueue(_ input: Input) {
        let startDrain = mailbox.withLock { mailbox in
            if case .closed = input { mailbox.closed = true }
            mailbox.inputs.append(input)
            guard !mailbox.draining else { return false }
            mailbox.draining = true
            return true
        }
        if startDrain { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            let batch = mailbox.withLock { mailbox in
                let batch = mailbox.inputs
                mailbox.inputs.removeAll(keepingCapacity: false)
                if batch.isEmpty { mailbox.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            for input in batch { await process(input) }
        }
    }

    // MARK: Processing

    private func process(_ input: Input) async {
        switch (input, phase) {
        case (.closed, _):
            await sessionEnded()
        case (_, .ended):
            return
        case (.text(let data, let receivedAt), _):
            switch RequestDecoder.decode(data) {
            case .invalid(let id, let error):
                guard admit(id: id) else { return }
                refuse(id: id, type: nil, error)
            case .request(let id, let type, let request):
                guard admit(id: id) else { return }
                await handle(request, id: id, type: type, receivedAt: receivedAt)
            }
        case (.binary, _):
            guard admit(id: nil) else { return }
            refuse(id: nil, type: nil, ProtocolError(.badRequest, "binary frames are not part of the protocol: send JSON in text frames"))
        case (.helloTimeout, .awaitingHello):
            hub.audit.record(AuditEvent("session.hello_timeout", refused: .unauthorized))
            end(closing: .unauthorized, reason: "no hello in time")
        case (.helloTimeout, _):
            return
        }
    }

    /// Applies the rate limit; answers `rate_limited` when over it.
    private func admit(id: String?) -> Bool {
        guard !limiter.allow() else { return true }
        refuse(id: id, type: nil, ProtocolError(.rateLimited, "too many requests: at most \(hub.configuration.rateLimit) per second"))
        return false
    }

    private func handle(_ request: Request, id: String, type: String, receivedAt: ContinuousClock.Instant) async {
        switch phase {
        case .awaitingHello:
            guard case .hello(let hello) = request else {
                refuse(id: id, type: type, ProtocolError(.unauthorized, "the first request must be hello"))
                end(closing: .unauthorized, reason: "hello required")
                return
            }
            await handleHello(hello, id: id, receivedAt: receivedAt)
        case .active(let caller):
            do {
                let responder = Responder(id: id, type: type, session: self, caller: caller, receivedAt: receivedAt)
                switch try await handle(request, caller: caller, responder: responder) {
                case .ok(let result): responder.ok(result)
                case .empty: responder.ok()
                case .frame(let frame): responder.reply(frame)
                case .deferred: break
                }
            } catch {
                refuse(id: id, type: type, error, caller: caller)
                Instruments.requestAnswered(type, receivedAt: receivedAt)
            }
        case .ended:
            return
        }
    }

    /// How a handler answers: now, or later by a `Responder` once its change is durable.
    enum Reply {
        case ok(any Encodable & Sendable)
        /// `ok` with no result fields.
        case empty
        /// A reply already encoded.
        case frame(OutboundFrame)
        case deferred
    }

    /// Routes a request of an authenticated session to its feature.
    private func handle(_ request: Request, caller: Caller, responder: Responder) async throws(ProtocolError) -> Reply {
        let id = responder.id
        guard !request.needsJournal || hub.journal.isAvailable else {
            throw ProtocolError(.unavailable, "the cluster's journal cannot be reached: nothing was changed; try again")
        }
        switch request {
        case .hello:
            throw ProtocolError(.badRequest, "this session has already said hello")
        case .presenceSet(let params):
            await presenceSet(params, caller: caller)
            return .empty
        case .presenceWatch(let params):
            return .ok(try await presenceWatch(params, caller: caller))
        case .presenceUnwatch(let params):
            try await presenceUnwatch(params, caller: caller)
            return .empty
        case .userPut(let params):
            return .ok(try await userPut(params, caller: caller))
        case .userSearch(let params):
            return .ok(try await userSearch(params, caller: caller))
        case .roomCreate(let params):
            try await roomCreate(params, caller: caller, responder: responder)
        case .roomInvite(let params):
            try await roomInvite(params, caller: caller, responder: responder)
        case .roomLeave(let params):
            try await roomLeave(params, caller: caller, responder: responder)
        case .roomList:
            return .ok(await roomList(caller: caller))
        case .roomHistory(let params):
            return .frame(try await roomHistory(params, id: id, caller: caller))
        case .roomHold(let params):
            try await roomHold(params, caller: caller, responder: responder)
        case .msgSend(let params):
            try await msgSend(params, caller: caller, responder: responder)
        case .msgAck(let params):
            try await msgAck(params, caller: caller, responder: responder)
        case .msgRead(let params):
            try await msgRead(params, caller: caller, responder: responder)
        case .typing(let params):
            try await typing(params, caller: caller)
            return .empty
        case .modRequest(let params):
            try await modRequest(params, caller: caller, responder: responder)
        case .modClaim(let params):
            try await modClaim(params, caller: caller, responder: responder)
        case .modDecline(let params):
            try await modDecline(params, caller: caller, responder: responder)
        case .modCancel(let params):
            try await hub.mod.cancel(params.request, by: caller, responder: responder)
        case .callInvite(let params):
            try requireChat(caller)
            try await hub.calls.invite(params, by: caller, session: self.id, responder: responder)
        case .callAccept(let params):
            try await hub.calls.accept(params, by: caller, session: self.id)
            return .empty
        case .callCandidate(let params):
            try await hub.calls.candidate(params, session: self.id, tenant: caller.record.tenant)
            return .empty
        case .callSDP(let params):
            try await hub.calls.sdp(params, session: self.id, tenant: caller.record.tenant)
            return .empty
        case .callReject(let params):
            try await hub.calls.reject(params.call, session: self.id, caller: caller)
            return .empty
        case .callHangup(let params):
            try await hub.calls.hangup(params.call, session: self.id, caller: caller)
            return .empty
        case .turnCredentials:
            return .ok(try turnCredentials(caller: caller))
        case .auditRead(let params):
            return .frame(try await auditRead(params, id: id, caller: caller))
        case .pushRegister(let params):
            try await pushRegister(params, caller: caller)
            return .empty
        case .pushUnregister(let params):
            try await hub.push.unregister(params, caller: caller)
            return .empty
        case .pushList:
            return .ok(await pushList(caller: caller))
        case .meetingCreate(let params):
            try await meetingCreate(params, caller: caller, responder: responder)
        case .meetingRSVP(let params):
            try await hub.meetings.rsvp(params, by: caller, responder: responder)
        case .meetingUpdate(let params):
            try checkMeetingText(title: params.title, agenda: params.agenda)
            try await hub.meetings.update(params, by: caller, responder: responder)
        case .meetingCancel(let params):
            try await hub.meetings.cancel(params, by: caller, responder: responder)
        case .meetingForward(let params):
            try await meetingForward(params, caller: caller, responder: responder)
        case .meetingList(let params):
            return .ok(await hub.meetings.list(from: params.from, to: params.to, for: caller))
        case .meetingGet(let params):
            return .ok(try await hub.meetings.get(params.meeting, for: caller))
        case .meetingNote(let params):
            try checkNote(params.text)
            try await hub.meetings.note(params, by: caller, responder: responder)
        case .meetingFeed(let params):
            try await hub.meetings.feed(reset: params.reset ?? false, for: caller, responder: responder)
        case .callNote(let params):
            try checkNote(params.text)
            try await hub.meetings.callNote(params, by: caller, responder: responder)
        }
        return .deferred
    }

    // MARK: Replies

    func reply(_ frame: OutboundFrame) {
        guard let peer else { return }
        hub.transport.send(frame, to: peer)
    }

    /// Answers with an error, and audits the refusal.
    func refuse(id: String?, type: String?, _ error: ProtocolError, caller: Caller? = nil) {
        Instruments.error(error.code)
        var detail = ["message": error.message]
        if let type { detail["request"] = type }
        hub.audit.record(AuditEvent(
            "request.refused", tenant: caller?.record.tenant, actor: caller?.record.user, device: caller?.device,
            refused: error.code, detail: detail))
        reply(FrameEncoder.error(id: id, error))
    }

    /// Stops handling input and closes the connection with `code`.
    func end(closing code: CloseCode, reason: String) {
        helloTimer?.cancel()
        phase = .ended
        if let peer { hub.transport.close(peer, code: code, reason: reason) }
    }

    /// Becomes the active session of `caller`.
    func activate(_ caller: Caller) {
        helloTimer?.cancel()
        helloTimer = nil
        phase = .active(caller)
    }

    private func sessionEnded() async {
        helloTimer?.cancel()
        syncGate.close()
        let previous = phase
        phase = .ended
        guard case .active(let caller) = previous else { return }
        hub.registry.unregister(self, as: caller)
        await hub.presence.disconnect(caller.key, device: caller.device, session: id)
        await hub.calls.sessionEnded(id)
        hub.audit.record(AuditEvent(
            "session.end", tenant: caller.record.tenant, actor: caller.record.user, device: caller.device,
            detail: ["session": id.description]))
    }
}

/// The authenticated user and device behind a session.
public struct Caller: Sendable {
    public let record: UserRecord
    public let device: String
    public var key: UserKey { record.key }
    public var role: Role { record.role }
}
