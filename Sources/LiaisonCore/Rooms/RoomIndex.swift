import LiaisonSync

/// Finds rooms: by id, by member, and the unique direct room of a pair. Also tracks which rooms
/// changed since the last snapshot.
final class RoomIndex: Sendable {
    private struct State {
        var rooms: [String: RoomActor] = [:]
        var byUser: [UserKey: Set<String>] = [:]
        var direct: [String: String] = [:]
        var dirty: Set<String> = []
    }

    private let state = Locked(State())

    /// The key of the direct room between two users of a tenant.
    static func directKey(tenant: String, _ a: String, _ b: String) -> String {
        let pair = a < b ? (a, b) : (b, a)
        return "\(tenant)\u{0}\(pair.0)\u{0}\(pair.1)"
    }

    func room(_ id: String) -> RoomActor? {
        state.withLock { $0.rooms[id] }
    }

    /// Adds a room and its members.
    func insert(_ room: RoomActor, members: [String], directKey: String?) {
        state.withLock { state in
            state.rooms[room.id] = room
            if let directKey { state.direct[directKey] = room.id }
            for member in members { state.byUser[UserKey(tenant: room.tenant, user: member), default: []].insert(room.id) }
        }
    }

    /// The direct room for `key`, or a new one made by `make` and inserted, atomically.
    func directRoom(_ key: String, members: [String], make: () -> RoomActor) -> (room: RoomActor, created: Bool) {
        state.withLock { state in
            if let id = state.direct[key], let room = state.rooms[id] { return (room, false) }
            let room = make()
            state.rooms[room.id] = room
            state.direct[key] = room.id
            for member in members { state.byUser[UserKey(tenant: room.tenant, user: member), default: []].insert(room.id) }
            return (room, true)
        }
    }

    /// Every room.
    func all() -> [RoomActor] {
        state.withLock { Array($0.rooms.values) }
    }

    func addMember(_ user: UserKey, room: String) {
        state.withLock { _ = $0.byUser[user, default: []].insert(room) }
    }

    func removeMember(_ user: UserKey, room: String) {
        state.withLock { _ = $0.byUser[user]?.remove(room) }
    }

    /// The rooms `user` is a member of, ordered by id.
    func rooms(of user: UserKey) -> [RoomActor] {
        state.withLock { state in (state.byUser[user] ?? []).sorted().compactMap { state.rooms[$0] } }
    }

    /// Whether two users of a tenant are members of a common room.
    func shareRoom(_ a: UserKey, _ b: UserKey) -> Bool {
        state.withLock { state in
            guard let roomsOfA = state.byUser[a], let roomsOfB = state.byUser[b] else { return false }
            return !roomsOfA.isDisjoint(with: roomsOfB)
        }
    }

    func markDirty(_ room: String) {
        state.withLock { _ = $0.dirty.insert(room) }
    }

    var hasDirty: Bool { state.withLock { !$0.dirty.isEmpty } }

    /// The rooms changed since the last call.
    func takeDirty() -> [RoomActor] {
        state.withLock { state in
            defer { state.dirty.removeAll() }
            return state.dirty.compactMap { state.rooms[$0] }
        }
    }

}
