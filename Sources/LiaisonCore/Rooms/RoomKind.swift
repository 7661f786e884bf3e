/// What a room is for: a unique pair, a group, the room a claimed MOD request opens, or the room a
/// meeting scheduled without one holds its people in.
public enum RoomKind: String, Sendable, Codable, WireEnum {
    case direct, group, mod, meeting
}

/// The kind of a chat message: written by a user, or by the server (calls, MOD); `erased` is the
/// tombstone retention leaves in place of an old message (no body, the body's sha256 kept).
public enum MessageKind: String, Sendable, Codable {
    case text, system, erased
}
