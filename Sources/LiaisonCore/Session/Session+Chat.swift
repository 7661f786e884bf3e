/// `msg.send`, `msg.ack`, `msg.read`, `room.history`, `typing`.
extension Session {
    static let maxBodyBytes = 16 * 1024
    static let maxClientMessageIDLength = 128
    static let maxAttachments = 10
    static let maxHistoryLimit = 100
    static let defaultHistoryLimit = 50

    func msgSend(_ params: Request.MessageSend, caller: Caller, responder: Responder) async throws(ProtocolError) {
        try requireChat(caller)
        let body = params.body ?? ""
        let files = params.attachments?.map(\.file) ?? []
        guard files.count <= Self.maxAttachments else {
            throw ProtocolError(.badRequest, "field 'attachments' may hold at most \(Self.maxAttachments) files")
        }
        guard Set(files).count == files.count else { throw ProtocolError(.badRequest, "field 'attachments' names a file twice") }
        guard !body.isEmpty || !files.isEmpty else {
            throw ProtocolError(.badRequest, "field 'body' must not be empty (unless the message has attachments)")
        }
        guard body.utf8.count <= Self.maxBodyBytes else {
            throw ProtocolError(.tooLarge, "field 'body' is larger than \(Self.maxBodyBytes) bytes")
        }
        if let id = params.clientMsgID, id.isEmpty || id.count > Self.maxClientMessageIDLength {
            throw ProtocolError(.badRequest, "field 'client_msg_id' must be 1 to \(Self.maxClientMessageIDLength) characters")
        }
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        var attachments: [Attachment] = []
        if !files.isEmpty {
            guard await room.isMember(caller.record.user) else { throw ProtocolError(.notMember, "not a member of room \(room.id)") }
            attachments = try await hub.files.share(files, in: room.id, tenant: caller.record.tenant, by: caller.record.user)
        }
        try await room.send(from: caller.record.user, fromName: caller.record.name, body: body, attachments: attachments,
                            clientMsgID: params.clientMsgID, kind: .text, responder: responder)
    }

    func msgAck(_ params: Request.Cursor, caller: Caller, responder: Responder) async throws(ProtocolError) {
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        try await room.ack(caller.record.user, through: params.seq, responder: responder)
    }

    func msgRead(_ params: Request.Cursor, caller: Caller, responder: Responder) async throws(ProtocolError) {
        try requireChat(caller)
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        try await room.markRead(caller.record.user, through: params.seq, responder: responder)
    }

    /// The reply `{…, messages: [...]}` spliced from the stored `msg` events, without re-encoding them.
    func roomHistory(_ params: Request.RoomHistory, id: String, caller: Caller) async throws(ProtocolError) -> OutboundFrame {
        try requireChat(caller)
        let limit = params.limit ?? Self.defaultHistoryLimit
        guard (1...Self.maxHistoryLimit).contains(limit) else {
            throw ProtocolError(.badRequest, "field 'limit' must be 1 to \(Self.maxHistoryLimit)")
        }
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        let messages = try await room.history(user: caller.record.user, before: params.before, limit: limit)
        hub.audit.record(AuditEvent("room.history", tenant: caller.record.tenant, actor: caller.record.user,
                                    device: caller.device, detail: ["room": room.id, "count": String(messages.count)]))
        return FrameEncoder.ok(id: id, splicing: "messages", messages)
    }

    func typing(_ params: Request.RoomRef, caller: Caller) async throws(ProtocolError) {
        try requireChat(caller)
        let room = try hub.rooms.room(params.room, tenant: caller.record.tenant)
        try await room.typing(caller.record.user)
    }
}
