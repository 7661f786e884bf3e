import Synchronization

/// Who is connected: authenticated sessions by id and by user and device.
public final class SessionRegistry: Sendable {
    private struct State {
        var byID: [SessionID: Session] = [:]
        var byUser: [UserKey: [String: Session]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers `session` as `device` of `user`; returns the session it replaces on that device.
    func register(_ session: Session, user: UserKey, device: String) -> Session? {
        state.withLock { state in
            let replaced = state.byUser[user, default: [:]].updateValue(session, forKey: device)
            if let replaced { state.byID[replaced.id] = nil }
            state.byID[session.id] = session
            return replaced
        }
    }

    /// Removes `session`, unless its device has already been taken over by another session.
    func unregister(_ session: Session, user: UserKey, device: String) {
        state.withLock { state in
            state.byID[session.id] = nil
            guard state.byUser[user]?[device] === session else { return }
            state.byUser[user]?[device] = nil
            if state.byUser[user]?.isEmpty == true { state.byUser[user] = nil }
        }
    }

    /// The connected sessions of `user`.
    public func sessions(of user: UserKey) -> [Session] {
        state.withLock { state in state.byUser[user].map { Array($0.values) } ?? [] }
    }

    /// The connected sessions of all of `users`, under one lock.
    public func sessions(ofAll users: [UserKey]) -> [Session] {
        state.withLock { state in
            var found: [Session] = []
            for user in users {
                if let devices = state.byUser[user] { found.append(contentsOf: devices.values) }
            }
            return found
        }
    }

    /// The sessions among `ids` that are still connected.
    public func sessions(_ ids: some Sequence<SessionID>) -> [Session] {
        state.withLock { state in ids.compactMap { state.byID[$0] } }
    }

    public var count: Int { state.withLock { $0.byID.count } }
}
