/// A client request, decoded and type-checked. Each case carries its parameters.
public enum Request: Sendable {
    case hello(Hello)
    case presenceSet(PresenceSet)
    case presenceWatch(UserList)
    case presenceUnwatch(UserList)
    case userPut(UserPut)

    /// `hello {token, device, client?}`: the first frame of every session.
    public struct Hello: Decodable, Sendable {
        public let token: String
        public let device: String
        public let client: String?
    }

    /// `presence.set {status, note?}`.
    public struct PresenceSet: Decodable, Sendable {
        public let status: SettableStatus
        public let note: String?
    }

    /// `presence.watch {users}` and `presence.unwatch {users}`.
    public struct UserList: Decodable, Sendable {
        public let users: [String]
    }

    /// `user.put {user, role, name?, areas?}`: an admin provisions a user of their tenant.
    public struct UserPut: Decodable, Sendable {
        public let user: String
        public let role: Role
        public let name: String?
        public let areas: [String]?
    }

    /// The wire name of each request type, and how to decode its parameters.
    static let decoders: [String: @Sendable (RequestDecoder.Fields) throws -> Request] = [
        "hello": { .hello(try $0.decode()) },
        "presence.set": { .presenceSet(try $0.decode()) },
        "presence.watch": { .presenceWatch(try $0.decode()) },
        "presence.unwatch": { .presenceUnwatch(try $0.decode()) },
        "user.put": { .userPut(try $0.decode()) },
    ]
}

/// The statuses a device may set; `offline` is only ever derived.
public enum SettableStatus: String, Sendable, WireEnum {
    case online, away, busy, dnd
}
