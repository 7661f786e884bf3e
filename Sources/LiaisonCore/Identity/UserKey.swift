/// The identity of a user: ids are scoped by tenant, so (`tenant`, `user`) is the key.
public struct UserKey: Hashable, Sendable, CustomStringConvertible {
    public let tenant: String
    public let user: String

    public init(tenant: String, user: String) {
        self.tenant = tenant
        self.user = user
    }

    public var description: String { "\(tenant)/\(user)" }
}
