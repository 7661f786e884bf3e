/// `room.create`, `room.invite`, `room.leave`, `room.list`.
extension Session {
    static let maxTitleLength = 200

    func roomCreate(_ params: Request.RoomCreate, caller: Caller, responder: Responder) async throws(ProtocolError) {
        try requireChat(caller)
        if let title = params.title, title.count > Self.maxTitleLength {
            throw ProtocolError(.badRequest, "field 'title' must be at most \(Self.maxTitleLength) characters")
        }
        let others = try resolve(params.members.filter { $0 != caller.record.user }, caller: caller)
        let kind: RoomKind
        switch params.kind {
        case .direct:
            guard others.count == 1, let peer = others.first else {
                throw ProtocolError(.badRequest, "a direct room has exactly one other member")
            }
            guard hub.policy.directRoomPeers[caller.role, default: []].contains(peer.role) else {
                throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not open a direct room with a \(peer.role.rawValue)")
            }
            kind = .direct
        case .group:
            for member in others where !hub.policy.invitable[caller.role, default: []].contains(member.role) {
                throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not add a \(member.role.rawValue) to a room")
            }
            kind = .group
        }
        await hub.rooms.create(kind: kind, tenant: caller.record.tenant, creator: caller.record.user,
                         members: others.map(\.user), title: params.title, responder: responder)
    }

    func roomInvite(_ params: Request.RoomInvite, caller: Caller, responder: Responder) async throws(ProtocolError) {
        try requireChat(caller)
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        guard await room.isMember(caller.record.user) else { throw ProtocolError(.notMember, "not a member of room \(room.id)") }
        guard room.kind != .direct else { throw ProtocolError(.forbidden, "a direct room has exactly two members") }
        guard let invitee = try resolve([params.user], caller: caller).first else { return }
        guard hub.policy.invitable[caller.role, default: []].contains(invitee.role) else {
            throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not invite a \(invitee.role.rawValue)")
        }
        await room.join(invitee.user, responder: responder)
        hub.audit.record(AuditEvent("room.invite", tenant: caller.record.tenant, actor: caller.record.user,
                                    device: caller.device, detail: ["room": room.id, "user": invitee.user]))
    }

    func roomLeave(_ params: Request.RoomRef, caller: Caller, responder: Responder) async throws(ProtocolError) {
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        try await room.leave(caller.record.user, responder: responder)
        hub.audit.record(AuditEvent("room.leave", tenant: caller.record.tenant, actor: caller.record.user,
                                    device: caller.device, detail: ["room": room.id]))
    }

    struct RoomListResult: Encodable, Sendable {
        let rooms: [RoomSummary]
    }

    func roomList(caller: Caller) async -> RoomListResult {
        var rooms: [RoomSummary] = []
        for room in hub.rooms.rooms(of: caller.key) { rooms.append(await room.summary(for: caller.record.user)) }
        return RoomListResult(rooms: rooms)
    }

    /// Chat content is for the roles the policy lets chat (not admins).
    func requireChat(_ caller: Caller) throws(ProtocolError) {
        guard hub.policy.chatRoles.contains(caller.role) else {
            throw ProtocolError(.forbidden, "a \(caller.role.rawValue) has no access to chat content")
        }
    }
}
