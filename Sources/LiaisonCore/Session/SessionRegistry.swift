import LiaisonSync

/// Who is connected: authenticated sessions by id and by user and device, each with the caller it
/// authenticated as (recorded here at `hello`, so other services never read a session's own state).
public final class SessionRegistry: Sendable {
    /// A registered session and who it is.
    public struct Entry: Sendable {
        public let session: Session
        public let caller: Caller
    }

    private struct State {
        var byID: [SessionID: Entry] = [:]
        var byUser: [UserKey: [String: Entry]] = [:]
    }

    private let state = Locked(State())

    public init() {}

    /// Registers `session` as `caller`'s device; returns the session it replaces on that device.
    func register(_ session: Session, as caller: Caller) -> Session? {
        state.withLock { state in
            let entry = Entry(session: session, caller: caller)
            let replaced = state.byUser[caller.key, default: [:]].updateValue(entry, forKey: caller.device)
            if let replaced { state.byID[replaced.session.id] = nil }
            state.byID[session.id] = entry
            return replaced?.session
        }
    }

    /// Removes `session`, unless its device has already been taken over by another session.
    func unregister(_ session: Session, as caller: Caller) {
        state.withLock { state in
            state.byID[session.id] = nil
            guard state.byUser[caller.key]?[caller.device]?.session === session else { return }
            state.byUser[caller.key]?[caller.device] = nil
            if state.byUser[caller.key]?.isEmpty == true { state.byUser[caller.key] = nil }
        }
    }

    /// The connected sessions of `user`.
    public func sessions(of user: UserKey) -> [Session] {
        state.withLock { state in state.byUser[user].map { $0.values.map(\.session) } ?? [] }
    }

    /// The connected sessions of all of `users`, under one lock (every delivery asks this).
    public func sessions(ofAll users: [UserKey]) -> [Session] {
        state.withLock { state in
            var found: [Session] = []
            for user in users {
                if let devices = state.byUser[user] { found.append(contentsOf: devices.values.lazy.map(\.session)) }
            }
            return found
        }
    }

    /// The connected sessions of all of `users` with who they are, under one lock.
    public func entries(ofAll users: [UserKey]) -> [Entry] {
        state.withLock { state in
            var found: [Entry] = []
            for user in users {
                if let devices = state.byUser[user] { found.append(contentsOf: devices.values) }
            }
            return found
        }
    }

    /// The connections of `user`'s devices.
    public func peers(of user: UserKey) -> [any Peer] {
        sessions(of: user).compactMap(\.peer)
    }

    /// The connections of all of `users`' devices, except the session `excluded`.
    public func peers(ofAll users: [UserKey], excluding excluded: SessionID? = nil) -> [any Peer] {
        sessions(ofAll: users).compactMap { $0.id == excluded ? nil : $0.peer }
    }

    /// The sessions among `ids` that are still connected.
    public func sessions(_ ids: some Sequence<SessionID>) -> [Session] {
        state.withLock { state in ids.compactMap { state.byID[$0]?.session } }
    }

    /// Whether any device of `user` is connected.
    public func isConnected(_ user: UserKey) -> Bool {
        state.withLock { $0.byUser[user] != nil }
    }

    public var count: Int { state.withLock { $0.byID.count } }
}
