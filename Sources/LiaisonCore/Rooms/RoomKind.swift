/// What a room is for: a unique pair, a group, the room a claimed MOD request opens, or the room a
/// meeting scheduled without one holds its people in.
public enum RoomKind: String, Sendable, Codable, WireEnum {
    case direct, group, mod, meeting
}

/// The kind of a chat message: written by a user, or by the server (calls, MOD).
public enum MessageKind: String, Sendable, Codable {
    case text, system
}
