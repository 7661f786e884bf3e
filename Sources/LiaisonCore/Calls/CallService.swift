import Foundation
import Metrics

/// WebRTC call signaling: rings every device of the other members, lets the first answer win, relays
/// SDP and ICE, and ends calls on reject, hang-up, timeout or a device gone too long. One actor owns
/// every call, so an answer race is a compare-and-set. SDP and candidates are relayed, never stored.
public actor CallService {
    private var calls: [String: CallState] = [:]
    /// The ringing or active call of each room (one at a time: a second invite is glare).
    private var byRoom: [String: String] = [:]
    /// Users in an active call.
    private var inCall: [UserKey: String] = [:]
    /// The caller's offer and candidates, for devices that start ringing late (memory only).
    private var offers: [String: (sdp: String, candidates: [JSONValue], callerName: String)] = [:]
    /// The display name of whoever answered each answered call (for the call's record in its room).
    private var calleeNames: [String: String] = [:]
    private var timers: [String: Task<Void, Never>] = [:]
    /// The callees of each ringing call that were woken by push (their missed calls are counted).
    private var pushed: [String: [UserKey]] = [:]

    private let ringTimeout: Double
    private let grace: Double
    private let registry: SessionRegistry
    private let rooms: RoomService
    private let push: PushService
    private let meetings: MeetingService
    private let transport: any Transport
    private let audit: AuditLog

    init(configuration: HubConfiguration, registry: SessionRegistry, rooms: RoomService, push: PushService,
         meetings: MeetingService, transport: any Transport, audit: AuditLog) {
        ringTimeout = configuration.ringTimeout
        grace = configuration.callGrace
        self.registry = registry
        self.rooms = rooms
        self.push = push
        self.meetings = meetings
        self.transport = transport
        self.audit = audit
    }

    struct InviteResult: JSONWritable, Sendable {
        let call: String

        func writeFields(to writer: inout JSONWriter) {
            writer.field("call", call)
        }
    }

    /// Starts a call in `room`: every connected device of the other members rings; their devices that are
    /// not connected are woken by push.
    func invite(_ params: Request.CallInvite, by caller: Caller, session: SessionID, responder: Responder)
        async throws(ProtocolError)
    {
        let room = try rooms.room(params.room, tenant: caller.record.tenant)
        let members = await room.members
        guard members.contains(caller.record.user) else { throw ProtocolError(.notMember, "not a member of room \(room.id)") }
        if let existing = byRoom[room.id] {
            throw ProtocolError(.busy, "room \(room.id) already has a call: accept call \(existing) instead",
                                details: ["call": existing])
        }
        let now = WallClock.now()
        let id = "c" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        var call = CallState(id: id, room: room.id, tenant: caller.record.tenant, media: params.media,
                             caller: CallParty(user: caller.record.user, device: caller.device, session: session),
                             createdAt: now)
        let others = members.filter { $0 != caller.record.user }
        for device in registry.entries(ofAll: others.map { UserKey(tenant: call.tenant, user: $0) }) {
            _ = call.ring(CallParty(user: device.caller.record.user, device: device.caller.device, session: device.session.id))
        }
        calls[id] = call
        byRoom[room.id] = id
        offers[id] = (params.sdp, [], caller.record.name)
        CallMetrics.invites.increment()
        audit.record(AuditEvent("call.invite", tenant: call.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["call": id, "room": room.id, "media": params.media.rawValue,
                                         "ringing": String(call.ringing.count),
                                         "ringing_users": Set(call.ringing.map(\.user)).sorted().joined(separator: ",")]))

        responder.ok(InviteResult(call: id))
        let everyoneBusy = !others.isEmpty && others.allSatisfy { inCall[UserKey(tenant: call.tenant, user: $0)] != nil }
        if everyoneBusy, let ending = call.busy() {
            calls[id] = call
            finish(id, ending)
            return
        }
        send(ringFrame(call), to: call.ringing.map(\.session))
        arm(id, after: ringTimeout) { service in await service.timedOut(id) }
        let callees = push.withPushers(others.map { UserKey(tenant: call.tenant, user: $0) })
        if !callees.isEmpty {
            pushed[id] = callees
            await push.callRing(id, room: room.id, caller: caller.record, media: params.media.rawValue,
                                until: now + Millis(ringTimeout * 1000), to: callees)
        }
    }

    /// The first device to accept becomes the other party.
    func accept(_ params: Request.CallAnswer, by caller: Caller, session: SessionID) throws(ProtocolError) {
        guard var call = calls[params.call], call.tenant == caller.record.tenant else {
            throw ProtocolError(.notFound, "no call '\(params.call)'")
        }
        guard caller.record.user != call.caller.user else {
            throw ProtocolError(.forbidden, "the caller cannot answer their own call")
        }
        switch call.phase {
        case .active: throw ProtocolError(.alreadyAnswered, "call \(call.id) was already answered")
        case .ended: throw ProtocolError(.notFound, "call \(call.id) has ended")
        case .ringing:
            guard call.ringing.contains(where: { $0.user == caller.record.user }) else {
                throw ProtocolError(.notMember, "call \(call.id) is not ringing for you")
            }
        }
        let now = WallClock.now()
        let outcome = call.accept(by: CallParty(user: caller.record.user, device: caller.device, session: session), now: now)
        switch outcome {
        case .alreadyAnswered: throw ProtocolError(.alreadyAnswered, "call \(call.id) was already answered")
        case .over: throw ProtocolError(.notFound, "call \(call.id) has ended")
        case .won(let elsewhere):
            calls[call.id] = call
            timers.removeValue(forKey: call.id)?.cancel()
            Task { [push, id = call.id] in await push.withdraw(id) }
            offers[call.id].map { offers[call.id] = ("", [], $0.callerName) }  // the offer is no longer needed
            calleeNames[call.id] = caller.record.name
            Task { [meetings, call, callee = caller.record.user] in
                await meetings.callConnected(call.id, tenant: call.tenant, room: call.room,
                                             parties: [call.caller.user, callee], at: now)
            }
            inCall[UserKey(tenant: call.tenant, user: call.caller.user)] = call.id
            inCall[caller.key] = call.id
            CallMetrics.setup.recordMilliseconds(now - call.createdAt)
            send(FrameEncoder.event(CallAcceptedEvent(call: call.id, by: .init(user: caller.record.user, name: caller.record.name, device: caller.device),
                                                      sdp: params.sdp)), to: [call.caller.session])
            send(FrameEncoder.event(CallEndedEvent(call: call.id, reason: "answered_elsewhere")), to: elsewhere.map(\.session))
            audit.record(AuditEvent("call.accept", tenant: call.tenant, actor: caller.record.user, device: caller.device,
                                    detail: ["call": call.id, "room": call.room]))
        }
    }

    /// Relays an ICE candidate; before the answer the caller's are kept for devices that ring later.
    func candidate(_ params: Request.CallCandidate, session: SessionID, tenant: String) throws(ProtocolError) {
        let call = try activeCall(params.call, tenant: tenant)
        guard let targets = call.candidateTargets(from: session) else {
            throw ProtocolError(.notMember, "this device is not part of call \(call.id)")
        }
        let candidate = JSONValue.object(params.candidate)
        if call.isRinging, call.caller.session == session { offers[call.id]?.candidates.append(candidate) }
        send(FrameEncoder.event(CallCandidateEvent(call: call.id, candidate: candidate)), to: targets)
    }

    /// Relays an offer or answer between the two devices of an active call (renegotiation).
    func sdp(_ params: Request.CallSDP, session: SessionID, tenant: String) throws(ProtocolError) {
        let call = try activeCall(params.call, tenant: tenant)
        guard let other = call.other(than: session) else {
            throw ProtocolError(.badRequest, "call \(call.id) is not answered on this device: nothing to renegotiate")
        }
        send(FrameEncoder.event(CallSDPEvent(call: call.id, description: params.description)), to: [other])
    }

    /// A ringing device declines the call: it stops ringing everywhere.
    func reject(_ id: String, session: SessionID, caller: Caller) throws(ProtocolError) {
        var call = try activeCall(id, tenant: caller.record.tenant)
        guard let ending = call.reject(by: session) else {
            throw ProtocolError(.badRequest, "call \(id) is not ringing on this device")
        }
        calls[id] = call
        audit.record(AuditEvent("call.reject", tenant: call.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["call": id]))
        finish(id, ending)
    }

    /// Either side ends the call (before the answer: the caller cancels it).
    func hangup(_ id: String, session: SessionID, caller: Caller) throws(ProtocolError) {
        var call = try activeCall(id, tenant: caller.record.tenant)
        guard let ending = call.hangup(by: session) else {
            throw ProtocolError(.notMember, "this device is not part of call \(id)")
        }
        calls[id] = call
        audit.record(AuditEvent("call.hangup", tenant: call.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["call": id]))
        finish(id, ending)
    }

    // MARK: Sessions coming and going

    /// A new session of `caller`: it takes back its place in a call it left within the grace, and rings
    /// for calls ringing in its rooms (with the caller's candidates so far).
    func sessionStarted(_ caller: Caller, session: SessionID) -> [OutboundFrame] {
        var frames: [OutboundFrame] = []
        let myRooms = Set(rooms.rooms(of: caller.key).map(\.id))
        for (id, var call) in calls where myRooms.contains(call.room) && !call.isOver {
            if call.returned(user: caller.record.user, device: caller.device, session: session) {
                calls[id] = call
                timers.removeValue(forKey: graceTimer(id, caller.record.user, caller.device))?.cancel()
                continue
            }
            guard call.isRinging, let offer = offers[id],
                  call.ring(CallParty(user: caller.record.user, device: caller.device, session: session))
            else { continue }
            calls[id] = call
            frames.append(ringFrame(call))
            frames += offer.candidates.map { FrameEncoder.event(CallCandidateEvent(call: id, candidate: $0)) }
        }
        return frames
    }

    /// A session ended: a ringing device stops ringing; a party of the call gets the grace period.
    func sessionEnded(_ session: SessionID) {
        for (id, var call) in calls where !call.isOver {
            switch call.departed(session) {
            case .unaffected: continue
            case .stoppedRinging: calls[id] = call
            case .graceStarted(let device, let generation):
                calls[id] = call
                arm("\(id)/grace/\(device)", after: grace) { service in
                    await service.graceExpired(id, device: device, generation: generation)
                }
            }
        }
    }

    // MARK: Endings

    private func timedOut(_ id: String) {
        guard var call = calls[id], let ending = call.ringTimeout() else { return }
        calls[id] = call
        finish(id, ending)
    }

    private func graceExpired(_ id: String, device: String, generation: UInt64) {
        guard var call = calls[id], let ending = call.graceExpired(device: device, generation: generation) else { return }
        calls[id] = call
        finish(id, ending)
    }

    /// Tells whom the ending names, frees the room and the users, and leaves the call's record in the room.
    private func finish(_ id: String, _ ending: CallState.Ending) {
        guard let call = calls.removeValue(forKey: id) else { return }
        for key in timers.keys where key == id || key.hasPrefix("\(id)/") { timers.removeValue(forKey: key)?.cancel() }
        let callerName = offers.removeValue(forKey: id)?.callerName
        if call.answeredAt != nil {
            Task { [meetings] in await meetings.callEnded(id, at: WallClock.now()) }
        }
        let calleeName = calleeNames.removeValue(forKey: id) ?? call.callee?.user
        let woken = pushed.removeValue(forKey: id) ?? []
        let missed = call.answeredAt == nil && [.timeout, .cancelled].contains(ending.reason) ? woken : []
        Task { [push] in
            await push.withdraw(id)
            if !missed.isEmpty { await push.callMissed(by: missed) }
        }
        byRoom[call.room] = nil
        for party in [call.caller] + (call.callee.map { [$0] } ?? []) {
            let key = UserKey(tenant: call.tenant, user: party.user)
            if inCall[key] == id { inCall[key] = nil }
        }
        send(FrameEncoder.event(CallEndedEvent(call: id, reason: ending.reason.rawValue)), to: ending.notify.map(\.session))

        let now = WallClock.now()
        let duration = call.answeredAt.map { now - $0 }
        CallMetrics.ended(ending.reason).increment()
        var detail = [
            "call": id, "room": call.room, "reason": ending.reason.rawValue, "media": call.media.rawValue,
            "duration_ms": duration.map { String($0) } ?? "", "caller_device": call.caller.device,
            "rang_at": String(call.createdAt), "ended_at": String(now),
        ]
        if let callee = call.callee {
            detail["callee"] = callee.user
            detail["callee_device"] = callee.device
        }
        if let answeredAt = call.answeredAt { detail["answered_at"] = String(answeredAt) }
        audit.record(AuditEvent("call.end", tenant: call.tenant, actor: call.caller.user, detail: detail))
        let body = CallRecordText.describe(media: call.media, caller: callerName ?? call.caller.user, callee: calleeName,
                                           reason: ending.reason, durationMillis: duration)
        let room = try? rooms.room(call.room, tenant: call.tenant)
        let caller = call.caller.user
        Task { _ = try? await room?.send(from: caller, body: body, clientMsgID: "call:\(id)", kind: .system, responder: nil) }
    }

    // MARK: Support

    private func activeCall(_ id: String, tenant: String) throws(ProtocolError) -> CallState {
        guard let call = calls[id], call.tenant == tenant else { throw ProtocolError(.notFound, "no call '\(id)'") }
        return call
    }

    /// The key of a device's grace timer (the device key is `CallState`'s: user, NUL, device).
    private func graceTimer(_ call: String, _ user: String, _ device: String) -> String {
        "\(call)/grace/\(user)\u{0}\(device)"
    }

    private func ringFrame(_ call: CallState) -> OutboundFrame {
        let offer = offers[call.id]
        return FrameEncoder.event(CallRingEvent(
            call: call.id, room: call.room,
            from: .init(user: call.caller.user, name: offer?.callerName ?? call.caller.user, device: call.caller.device),
            media: call.media, sdp: offer?.sdp ?? ""))
    }

    private func send(_ frame: OutboundFrame, to sessions: [SessionID]) {
        guard !sessions.isEmpty else { return }
        let peers = registry.sessions(sessions).compactMap(\.peer)
        transport.broadcast(frame, to: peers)
    }

    private func arm(_ key: String, after seconds: Double, _ action: @escaping @Sendable (CallService) async -> Void) {
        timers[key]?.cancel()
        timers[key] = Task { [weak self] in
            guard (try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))) != nil, let self else { return }
            await action(self)
        }
    }
}

/// Call metrics.
enum CallMetrics {
    static let invites = Counter(label: "liaison_calls_started_total")
    static let setup = Timer(label: "liaison_call_setup_seconds")
    static func ended(_ reason: CallState.EndReason) -> Counter {
        Counter(label: "liaison_calls_ended_total", dimensions: [("reason", reason.rawValue)])
    }
}
