/// The journal record of a change to one user's pushers: all of them as they now are, and `type`.
struct PushersRecord: Codable {
    static let type = "push.pushers"
    let type: String
    let tenant: String
    let user: String
    let pushers: [Pusher]

    init(owner: UserKey, pushers: [Pusher]) {
        type = Self.type
        tenant = owner.tenant
        user = owner.user
        self.pushers = pushers
    }

    var owner: UserKey { UserKey(tenant: tenant, user: user) }
}
