/// One Medical On-Demand request: open until exactly one FMD claims it, the requester cancels it, or
/// it expires. A state machine without I/O: a claim is a compare-and-set on `status`.
public struct ModRequest: Sendable, Codable, Equatable {
    public enum Mode: String, Sendable, Codable, WireEnum {
        case chat, call
    }

    public enum Status: String, Sendable, Codable {
        case open, claimed, cancelled, expired
    }

    public let id: String
    public let tenant: String
    public let requester: String
    public let requesterName: String
    public let requesterRole: Role
    public let area: String
    public let question: String
    public let mode: Mode
    public let createdAt: Millis
    public let expiresAt: Millis
    public private(set) var status: Status = .open
    /// FMDs the request was offered to.
    public private(set) var offered: Set<String> = []
    /// FMDs who declined: never offered it again.
    public private(set) var declined: Set<String> = []
    public private(set) var claimedBy: String?
    public private(set) var room: String?

    public init(id: String, tenant: String, requester: UserRecord, area: String, question: String, mode: Mode,
                createdAt: Millis, expiresAt: Millis) {
        self.id = id
        self.tenant = tenant
        self.requester = requester.user
        requesterName = requester.name
        requesterRole = requester.role
        self.area = area
        self.question = question
        self.mode = mode
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public enum ClaimOutcome: Sendable, Equatable {
        case won
        case alreadyClaimed
        case cancelled
        case expired
    }

    /// The first claim of an open request wins; every later one learns why it lost.
    public mutating func claim(by fmd: String, now: Millis) -> ClaimOutcome {
        switch status {
        case .claimed: return .alreadyClaimed
        case .cancelled: return .cancelled
        case .expired: return .expired
        case .open:
            if now >= expiresAt { return .expired }
            status = .claimed
            claimedBy = fmd
            return .won
        }
    }

    /// Records the room the winner and the requester were put in.
    public mutating func opened(room: String) { self.room = room }

    /// The requester withdraws an open request.
    public mutating func cancel() -> Bool {
        guard status == .open else { return false }
        status = .cancelled
        return true
    }

    /// No claim in time. False if the request is no longer open or not yet due.
    public mutating func expire(now: Millis) -> Bool {
        guard status == .open, now >= expiresAt else { return false }
        status = .expired
        return true
    }

    /// `fmd` wants no more offers of this request.
    public mutating func decline(by fmd: String) -> Bool {
        guard status == .open else { return false }
        return declined.insert(fmd).inserted
    }

    /// Whether `fmd` should see this request (open, and not declined by them).
    public func isOffered(to fmd: String) -> Bool { status == .open && !declined.contains(fmd) }

    /// Records offers to `fmds`; returns those that had not declined.
    public mutating func offer(to fmds: [String]) -> [String] {
        let eligible = fmds.filter { !declined.contains($0) }
        offered.formUnion(eligible)
        return eligible
    }
}
