/// `room.hold`: legal hold, which exempts a room from retention.
extension Session {
    /// An admin puts a room of their tenant under legal hold, or releases it; `ok` once durable. Audited.
    func roomHold(_ params: Request.RoomHold, caller: Caller, responder: Responder) async throws(ProtocolError) {
        guard caller.role == .admin else {
            throw ProtocolError(.forbidden, "only an admin may put a room under legal hold")
        }
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        await room.hold(params.on, responder: responder)
        hub.audit.record(AuditEvent("room.hold", tenant: caller.record.tenant, actor: caller.record.user,
                                    device: caller.device, detail: ["room": room.id, "on": String(params.on)]))
    }
}
