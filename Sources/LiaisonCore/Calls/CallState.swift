/// One device taking part in a call: who, which device, and the session it is on now.
public struct CallParty: Sendable, Equatable {
    public let user: String
    public let device: String
    public var session: SessionID
}

/// A two-party call's signaling: ringing → active → ended. A state machine without I/O: it decides who
/// wins an answer race, who is told what, and which devices relay to which.
public struct CallState: Sendable {
    public enum Media: String, Sendable, Codable, WireEnum {
        case audio, video
    }

    public enum EndReason: String, Sendable, Codable {
        case rejected, hangup, cancelled, timeout, busy, disconnected
    }

    public enum Phase: Sendable, Equatable {
        case ringing
        case active(since: Millis)
        case ended(EndReason)
    }

    public let id: String
    public let room: String
    public let tenant: String
    public let media: Media
    public let createdAt: Millis
    public private(set) var caller: CallParty
    /// Callee devices ringing now (before the answer).
    public private(set) var ringing: [CallParty] = []
    /// The device that answered.
    public private(set) var callee: CallParty?
    public private(set) var phase: Phase = .ringing
    /// Parties gone, by device, with the generation of their grace timer.
    private var away: [String: UInt64] = [:]
    private var graceGeneration: UInt64 = 0

    public init(id: String, room: String, tenant: String, media: Media, caller: CallParty, createdAt: Millis) {
        self.id = id
        self.room = room
        self.tenant = tenant
        self.media = media
        self.caller = caller
        self.createdAt = createdAt
    }

    public var isRinging: Bool { phase == .ringing }
    public var isOver: Bool { if case .ended = phase { true } else { false } }

    /// The parties still in the call (caller, and the callee or every ringing device).
    public var parties: [CallParty] { [caller] + (callee.map { [$0] } ?? ringing) }

    // MARK: Ringing and answering

    /// Starts ringing `party`, unless it rings already or the call is past ringing.
    public mutating func ring(_ party: CallParty) -> Bool {
        guard isRinging, party.user != caller.user, !ringing.contains(where: { $0.device == party.device && $0.user == party.user })
        else { return false }
        ringing.append(party)
        return true
    }

    public enum AcceptOutcome: Sendable, Equatable {
        /// This device won; the other ringing devices are told it was answered elsewhere.
        case won(answeredElsewhere: [CallParty])
        case alreadyAnswered
        case over
    }

    /// The first device to accept wins.
    public mutating func accept(by party: CallParty, now: Millis) -> AcceptOutcome {
        switch phase {
        case .active: return .alreadyAnswered
        case .ended: return .over
        case .ringing:
            let others = ringing.filter { !($0.user == party.user && $0.device == party.device) }
            callee = party
            ringing = []
            phase = .active(since: now)
            answeredAt = now
            return .won(answeredElsewhere: others)
        }
    }

    /// The end of a call: its reason, and whom to tell.
    public struct Ending: Sendable, Equatable {
        public let reason: EndReason
        public let notify: [CallParty]
    }

    /// A ringing callee device declines: the ringing ends everywhere.
    public mutating func reject(by session: SessionID) -> Ending? {
        guard isRinging, let party = ringing.first(where: { $0.session == session }) else { return nil }
        return end(.rejected, notify: [caller] + ringing.filter { $0 != party })
    }

    /// Either side hangs up: before the answer the caller cancels (a ringing device rejects).
    public mutating func hangup(by session: SessionID) -> Ending? {
        switch phase {
        case .ended:
            return nil
        case .ringing:
            if caller.session == session { return end(.cancelled, notify: ringing) }
            return reject(by: session)
        case .active:
            if caller.session == session, let callee { return end(.hangup, notify: [callee]) }
            if callee?.session == session { return end(.hangup, notify: [caller]) }
            return nil
        }
    }

    /// Nobody answered in time.
    public mutating func ringTimeout() -> Ending? {
        guard isRinging else { return nil }
        return end(.timeout, notify: [caller] + ringing)
    }

    /// A callee already in another call: the call ends at once (the callees never heard of it).
    public mutating func busy() -> Ending? {
        guard isRinging else { return nil }
        return end(.busy, notify: [caller])
    }

    // MARK: Devices leaving and returning

    public enum DepartureOutcome: Sendable, Equatable {
        case unaffected
        /// A ringing device went away: it just stops ringing.
        case stoppedRinging
        /// The caller or the answering device went away: the call waits for it for the grace period.
        case graceStarted(device: String, generation: UInt64)
    }

    /// The session `session` ended.
    public mutating func departed(_ session: SessionID) -> DepartureOutcome {
        guard !isOver else { return .unaffected }
        if let index = ringing.firstIndex(where: { $0.session == session }) {
            ringing.remove(at: index)
            return .stoppedRinging
        }
        guard let party = parties.first(where: { $0.session == session }) else { return .unaffected }
        graceGeneration += 1
        away[key(party)] = graceGeneration
        return .graceStarted(device: key(party), generation: graceGeneration)
    }

    /// `user`'s `device` is on a new session — back after leaving, or replacing a connection that has
    /// not ended yet: it keeps its place in the call. False if that device has no place in it.
    public mutating func returned(user: String, device: String, session: SessionID) -> Bool {
        let deviceKey = key(user, device)
        guard !isOver else { return false }
        away.removeValue(forKey: deviceKey)
        var found = false
        if key(caller) == deviceKey { caller.session = session; found = true }
        if let callee, key(callee) == deviceKey { self.callee?.session = session; found = true }
        for index in ringing.indices where key(ringing[index]) == deviceKey {
            ringing[index].session = session
            found = true
        }
        return found
    }

    /// The grace of an away device ran out: the call ends for the others.
    public mutating func graceExpired(device: String, generation: UInt64) -> Ending? {
        guard !isOver, away[device] == generation else { return nil }
        let remaining = parties.filter { key($0) != device }
        return end(.disconnected, notify: remaining)
    }

    // MARK: Relaying

    /// Where a candidate from `session` goes: before the answer the caller's go to every ringing device
    /// (and a ringing device's to the caller); after it, only between the two devices.
    public func candidateTargets(from session: SessionID) -> [SessionID]? {
        switch phase {
        case .ended: return nil
        case .ringing:
            if caller.session == session { return ringing.map(\.session) }
            return ringing.contains(where: { $0.session == session }) ? [caller.session] : nil
        case .active:
            return other(than: session).map { [$0] }
        }
    }

    /// The other device of an active call, for renegotiation (`call.sdp`).
    public func other(than session: SessionID) -> SessionID? {
        guard case .active = phase, let callee else { return nil }
        if caller.session == session { return callee.session }
        if callee.session == session { return caller.session }
        return nil
    }

    /// When the call was answered, if it was.
    public private(set) var answeredAt: Millis?

    private mutating func end(_ reason: EndReason, notify: [CallParty]) -> Ending {
        phase = .ended(reason)
        ringing = []
        return Ending(reason: reason, notify: notify)
    }

    private func key(_ party: CallParty) -> String { key(party.user, party.device) }
    private func key(_ user: String, _ device: String) -> String { "\(user)\u{0}\(device)" }
}
