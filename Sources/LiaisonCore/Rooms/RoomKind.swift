/// What a room is for: a unique pair, a group, or the room a claimed MOD request opens.
public enum RoomKind: String, Sendable, Codable, WireEnum {
    case direct, group, mod
}

/// The kind of a chat message: written by a user, or by the server (calls, MOD).
public enum MessageKind: String, Sendable, Codable {
    case text, system
}
