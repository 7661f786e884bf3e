/// Every registered pusher, by owner: a state without I/O. `PushService` persists it after each change.
struct PusherBook: Sendable {
    private(set) var byUser: [UserKey: [Pusher]] = [:]
    private var owners: [PusherKey: UserKey] = [:]

    init(_ pushers: [Pusher] = []) {
        for pusher in pushers { insert(pusher) }
    }

    var all: [Pusher] { byUser.values.flatMap { $0 } }

    /// Adds `pusher` for its device, moving its (`app_id`, `pushkey`) from whoever had it, or updating it
    /// on the same device. Refused when the device already has `limit` other pushers.
    mutating func register(_ pusher: Pusher, limitPerDevice limit: Int) throws(ProtocolError) {
        let onDevice = byUser[pusher.owner, default: []].filter { $0.device == pusher.device && $0.key != pusher.key }
        guard onDevice.count < limit else {
            throw ProtocolError(.tooLarge,
                                "device '\(pusher.device)' already has \(limit) pushers, the most allowed; unregister one first")
        }
        remove(pusher.key)
        insert(pusher)
    }

    /// Removes one of `user`'s pushers.
    mutating func unregister(_ key: PusherKey, of user: UserKey) throws(ProtocolError) {
        guard owners[key] == user else { throw ProtocolError(.notFound, "no pusher with that app_id and pushkey") }
        remove(key)
    }

    /// `user`'s pushers, by device then app.
    func pushers(of user: UserKey) -> [Pusher] {
        (byUser[user] ?? []).sorted { ($0.device, $0.appID, $0.pushkey) < ($1.device, $1.appID, $1.pushkey) }
    }

    /// Sets `user`'s pushers to `pushers` (a journal record of them), taking their keys from whoever had them.
    mutating func replace(_ user: UserKey, with pushers: [Pusher]) {
        for pusher in byUser[user] ?? [] { remove(pusher.key) }
        for pusher in pushers {
            remove(pusher.key)
            insert(pusher)
        }
    }

    /// Removes the pushers a gateway rejected; returns those that were still registered.
    mutating func reject(_ pushkeys: Set<String>, among sent: [Pusher]) -> [Pusher] {
        var removed: [Pusher] = []
        for pusher in sent where pushkeys.contains(pusher.pushkey) && owners[pusher.key] == pusher.owner {
            remove(pusher.key)
            removed.append(pusher)
        }
        return removed
    }

    private mutating func insert(_ pusher: Pusher) {
        byUser[pusher.owner, default: []].append(pusher)
        owners[pusher.key] = pusher.owner
    }

    private mutating func remove(_ key: PusherKey) {
        guard let owner = owners.removeValue(forKey: key) else { return }
        byUser[owner]?.removeAll { $0.key == key }
        if byUser[owner]?.isEmpty == true { byUser[owner] = nil }
    }
}
