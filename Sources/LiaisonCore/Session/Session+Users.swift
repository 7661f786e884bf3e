/// `user.put`: an admin provisions a user of their own tenant.
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
