/// `user.put`: an admin provisions a user of their own tenant. `user.search`: the people directory.
extension Session {
    struct UserPutResult: Encodable, Sendable {
        let user: String
    }

    func userPut(_ params: Request.UserPut, caller: Caller) async throws(ProtocolError) -> UserPutResult {
        guard hub.policy.mayProvisionUsers(caller.role) else {
            throw ProtocolError(.forbidden, "only an admin may provision users")
        }
        guard !params.user.isEmpty, params.user.count <= 128 else {
            throw ProtocolError(.badRequest, "field 'user' must be 1 to 128 characters")
        }
        let record = UserRecord(
            tenant: caller.record.tenant, user: params.user, role: params.role,
            name: params.name ?? params.user, areas: params.areas ?? [])
        do {
            try await hub.directory.put(record)
        } catch {
            throw ProtocolError(.internal, "the user directory could not be written")
        }
        hub.audit.record(AuditEvent(
            "user.put", tenant: caller.record.tenant, actor: caller.record.user, device: caller.device,
            detail: ["user": record.user, "role": record.role.rawValue]))
        return UserPutResult(user: record.user)
    }
}

extension Session {
    static let maxSearchLimit = 50
    static let defaultSearchLimit = 20
    static let maxSearchQueryLength = 128

    struct UserSearchResult: Encodable, Sendable {
        struct Person: Encodable, Sendable {
            let user: String
            let name: String
            let role: Role
            let areas: [String]
            let status: PresenceStatus
        }

        let users: [Person]
    }

    /// Users of the caller's tenant the role policy lets them find, matching the query, with their status.
    func userSearch(_ params: Request.UserSearch, caller: Caller) async throws(ProtocolError) -> UserSearchResult {
        let limit = params.limit ?? Self.defaultSearchLimit
        guard (1...Self.maxSearchLimit).contains(limit) else {
            throw ProtocolError(.badRequest, "field 'limit' must be 1 to \(Self.maxSearchLimit)")
        }
        guard (params.query?.count ?? 0) <= Self.maxSearchQueryLength else {
            throw ProtocolError(.badRequest, "field 'query' must be at most \(Self.maxSearchQueryLength) characters")
        }
        let query = PeopleQuery(text: params.query, role: params.role, area: params.area)
        let (policy, me) = (hub.policy, caller.key)
        let found = hub.directory.search(tenant: caller.record.tenant, limit: limit) { record in
            record.key != me && policy.mayFind(caller.role, record.role) && query.matches(record)
        }
        let statuses = await hub.presence.statuses(of: found.map(\.key))
        var detail = ["results": String(found.count)]
        detail["query"] = query.text
        detail["role"] = query.role?.rawValue
        detail["area"] = query.area
        hub.audit.record(AuditEvent(
            "user.search", tenant: caller.record.tenant, actor: caller.record.user, device: caller.device, detail: detail))
        return UserSearchResult(users: found.map {
            .init(user: $0.user, name: $0.name, role: $0.role, areas: $0.areas, status: statuses[$0.key] ?? .offline)
        })
    }
}
