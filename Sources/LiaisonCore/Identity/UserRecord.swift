/// What the server knows of a user: learned from their token at `hello`, or provisioned by an admin.
public struct UserRecord: Sendable, Equatable, Codable {
    public var tenant: String
    public var user: String
    public var role: Role
    public var name: String
    public var areas: [String]

    public init(tenant: String, user: String, role: Role, name: String, areas: [String]) {
        self.tenant = tenant
        self.user = user
        self.role = role
        self.name = name
        self.areas = areas
    }

    public var key: UserKey { UserKey(tenant: tenant, user: user) }
}
