/// A user's status as watchers see it: `offline` when no device is connected (after the grace period).
public enum PresenceStatus: String, Sendable, Codable {
    case online, away, busy, dnd, offline

    init(_ status: SettableStatus) {
        switch status {
        case .online: self = .online
        case .away: self = .away
        case .busy: self = .busy
        case .dnd: self = .dnd
        }
    }

    /// The status of a user from their devices' statuses: `dnd` on any device wins, otherwise the most
    /// available (`online` > `away` > `busy`); `offline` without devices.
    static func aggregate(_ statuses: some Sequence<SettableStatus>) -> PresenceStatus {
        var best: PresenceStatus = .offline
        for status in statuses {
            switch status {
            case .dnd: return .dnd
            case .online: best = .online
            case .away where best != .online: best = .away
            case .busy where best == .offline: best = .busy
            default: break
            }
        }
        return best
    }
}

/// What a watcher learns of a user: the `presence` event and the entries of `presence.watch`.
public struct PresenceInfo: Sendable, Equatable, Encodable {
    public var user: String
    public var status: PresenceStatus
    public var note: String?
    public var devices: Int
    public var lastSeen: Millis?
    /// The user's display name, filled in where the info leaves the server (`presence.watch`).
    public var name: String?

    enum CodingKeys: String, CodingKey {
        case user, name, status, note, devices
        case lastSeen = "last_seen"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(user, forKey: .user)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encode(status, forKey: .status)
        try container.encode(note, forKey: .note)
        try container.encode(devices, forKey: .devices)
        try container.encode(lastSeen, forKey: .lastSeen)
    }

    /// The same presence as seen by watchers: `last_seen` alone is not a change.
    func sameAs(_ other: PresenceInfo) -> Bool {
        status == other.status && note == other.note && devices == other.devices
    }
}

/// The `presence` event.
struct PresenceEvent: JSONWritable {
    let info: PresenceInfo
    /// The user's display name.
    let name: String

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", "presence")
        writer.field("user", info.user)
        writer.field("name", name)
        writer.field("status", info.status)
        writer.field("note", orNull: info.note)
        writer.field("devices", info.devices)
        writer.field("last_seen", orNull: info.lastSeen)
    }
}
