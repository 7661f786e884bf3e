/// Presence of every user and who watches whom: a state machine without I/O.
///
/// Inputs are device connects and disconnects, status changes, watch requests and grace-period expiries;
/// outputs are `Action`s the owner performs. Devices are tracked with the session that holds them, so the
/// late disconnect of a replaced session never removes its successor.
public struct PresenceBook: Sendable {
    /// What the owner must do after an input.
    public enum Action: Sendable, Equatable {
        /// Tell `watchers` (sessions) the user's new presence.
        case publish(UserKey, PresenceInfo, watchers: [SessionID])
        /// Call `graceExpired(user, generation)` after the grace period.
        case armGrace(UserKey, generation: UInt64)
    }

    struct Device: Sendable {
        var session: SessionID
        var status: SettableStatus
    }

    struct Entry: Sendable {
        var devices: [String: Device] = [:]
        var note: String?
        var lastSeen: Millis?
        /// What watchers last heard.
        var published: PresenceInfo
        /// Bumped on every disconnect that leaves no device, so only the latest grace timer counts.
        var graceGeneration: UInt64 = 0
        /// Whether the last device to leave was `dnd` (such a user is not woken by push for MOD offers).
        var leftInDoNotDisturb = false

        var current: PresenceInfo {
            PresenceInfo(
                user: published.user,
                status: PresenceStatus.aggregate(devices.values.map(\.status)),
                note: note, devices: devices.count, lastSeen: lastSeen)
        }
    }

    private var entries: [UserKey: Entry] = [:]
    private var watchers: [UserKey: Set<SessionID>] = [:]
    private var watching: [SessionID: Set<UserKey>] = [:]

    public init() {}

    /// The presence of `user` now.
    public func info(_ user: UserKey) -> PresenceInfo {
        guard let entry = entries[user] else {
            return PresenceInfo(user: user.user, status: .offline, note: nil, devices: 0, lastSeen: nil)
        }
        var info = entry.published
        info.lastSeen = entry.lastSeen
        return info
    }

    /// Whether `user` has no device now and the last one left in `dnd`.
    public func leftInDoNotDisturb(_ user: UserKey) -> Bool {
        guard let entry = entries[user] else { return false }
        return entry.devices.isEmpty && entry.leftInDoNotDisturb
    }

    /// A device of `user` connected, as `online`.
    public mutating func connect(_ user: UserKey, device: String, session: SessionID, now: Millis) -> [Action] {
        update(user, now: now) { $0.devices[device] = Device(session: session, status: .online) }
    }

    /// A device set its status, and optionally the user's note (`""` clears it).
    public mutating func set(
        _ user: UserKey, device: String, session: SessionID, status: SettableStatus, note: String?, now: Millis
    ) -> [Action] {
        // A replaced session's late request must not take the device back from its successor.
        guard entries[user]?.devices[device]?.session == session else { return [] }
        return update(user, now: now) { entry in
            entry.devices[device] = Device(session: session, status: status)
            if let note { entry.note = note.isEmpty ? nil : note }
        }
    }

    /// A device's session ended. The last device gone starts the grace period instead of going offline.
    public mutating func disconnect(_ user: UserKey, device: String, session: SessionID, now: Millis) -> [Action] {
        guard var entry = entries[user], entry.devices[device]?.session == session else { return [] }
        let leavingStatus = entry.devices[device]?.status
        entry.devices[device] = nil
        entry.lastSeen = now
        if entry.devices.isEmpty {
            entry.leftInDoNotDisturb = leavingStatus == .dnd
            entry.graceGeneration &+= 1
            entries[user] = entry
            return [.armGrace(user, generation: entry.graceGeneration)]
        }
        entries[user] = entry
        return publishIfChanged(user)
    }

    /// The grace period after the last disconnect ran out: offline, unless a device came back.
    public mutating func graceExpired(_ user: UserKey, generation: UInt64, now: Millis) -> [Action] {
        guard let entry = entries[user], entry.graceGeneration == generation, entry.devices.isEmpty else {
            return []
        }
        return publishIfChanged(user)
    }

    /// `session` starts watching `users`; returns their presence now.
    public mutating func watch(_ users: [UserKey], session: SessionID) -> [PresenceInfo] {
        for user in users {
            watchers[user, default: []].insert(session)
            watching[session, default: []].insert(user)
        }
        return users.map(info)
    }

    /// `session` stops watching `users`.
    public mutating func unwatch(_ users: [UserKey], session: SessionID) {
        for user in users {
            watchers[user]?.remove(session)
            if watchers[user]?.isEmpty == true { watchers[user] = nil }
            watching[session]?.remove(user)
        }
        if watching[session]?.isEmpty == true { watching[session] = nil }
    }

    /// `session` ended: it watches no one any more.
    public mutating func dropWatcher(_ session: SessionID) {
        unwatch(Array(watching[session] ?? []), session: session)
    }

    private mutating func update(_ user: UserKey, now: Millis, _ change: (inout Entry) -> Void) -> [Action] {
        var entry = entries[user] ?? Entry(published: info(user))
        change(&entry)
        entry.lastSeen = now
        entries[user] = entry
        return publishIfChanged(user)
    }

    private mutating func publishIfChanged(_ user: UserKey) -> [Action] {
        guard var entry = entries[user] else { return [] }
        let current = entry.current
        if current.sameAs(entry.published) { return [] }
        entry.published = current
        entries[user] = entry
        return [.publish(user, current, watchers: Array(watchers[user] ?? []).sorted())]
    }
}
