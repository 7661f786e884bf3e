/// `presence.set`, `presence.watch`, `presence.unwatch`.
extension Session {
    struct PresenceList: Encodable, Sendable {
        let presence: [PresenceInfo]
    }

    func presenceSet(_ params: Request.PresenceSet, caller: Caller) async {
        await hub.presence.set(caller.key, device: caller.device, session: id, status: params.status, note: params.note)
        if caller.role == .fmd, params.status != .dnd {
            // An expert no longer dnd sees, on every device, the requests opened meanwhile.
            let offers = await hub.mod.offers(for: caller, onlyNew: true)
            let devices = hub.registry.peers(of: caller.key)
            for offer in offers { hub.transport.send(offer, to: devices) }
        }
    }

    func presenceWatch(_ params: Request.UserList, caller: Caller) async throws(ProtocolError) -> PresenceList {
        let targets = try resolve(params.users, caller: caller)
        for target in targets where target.key != caller.key {
            guard hub.policy.mayWatch(caller.role, target.role, sharingRoom: hub.rooms.shareRoom(caller.key, target.key)) else {
                throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not watch the presence of a \(target.role.rawValue)")
            }
        }
        hub.audit.record(AuditEvent(
            "presence.watch", tenant: caller.record.tenant, actor: caller.record.user, device: caller.device,
            detail: ["users": params.users.joined(separator: ",")]))
        return PresenceList(presence: await hub.presence.watch(targets.map(\.key), session: id))
    }

    func presenceUnwatch(_ params: Request.UserList, caller: Caller) async throws(ProtocolError) {
        let targets = try resolve(params.users, caller: caller)
        await hub.presence.unwatch(targets.map(\.key), session: id)
    }

    /// The users named by a request, in the caller's tenant; any unknown one fails the request.
    func resolve(_ users: [String], caller: Caller) throws(ProtocolError) -> [UserRecord] {
        try users.map { (user) throws(ProtocolError) -> UserRecord in
            guard let record = hub.directory.lookup(UserKey(tenant: caller.record.tenant, user: user)) else {
                throw ProtocolError(.notFound, "no user '\(user)'")
            }
            return record
        }
    }
}
