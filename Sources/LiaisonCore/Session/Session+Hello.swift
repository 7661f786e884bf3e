/// `hello`: authenticate, register the device, then sync what the user missed.
extension Session {
    struct HelloResult: Encodable, Sendable {
        let user: String
        let role: Role
        let session: String
        let heartbeat: Double
    }

    struct SyncedEvent: Encodable {
        let type = "synced"
    }

    func handleHello(_ hello: Request.Hello, id: String) async {
        let claims: TokenClaims
        do {
            claims = try await hub.verifier.verify(hello.token)
        } catch {
            refuse(id: id, type: "hello", error)
            end(closing: .unauthorized, reason: "unauthorized")
            return
        }
        guard !hello.device.isEmpty, hello.device.count <= 128 else {
            refuse(id: id, type: "hello", ProtocolError(.badRequest, "field 'device' must be 1 to 128 characters"))
            return
        }
        let caller = Caller(record: claims.record, device: hello.device)
        do {
            try hub.directory.put(caller.record)
        } catch {
            refuse(id: id, type: "hello", ProtocolError(.internal, "the user directory could not be written"))
            return
        }
        activate(caller)
        syncGate.begin()
        if let replaced = hub.registry.register(self, user: caller.key, device: caller.device) {
            hub.transport.close(replaced.peer, code: .replaced, reason: "replaced by a new connection of this device")
        }
        await hub.presence.connect(caller.key, device: caller.device, session: self.id)
        Instruments.sessionsStarted.increment()
        hub.audit.record(AuditEvent(
            "session.start", tenant: caller.record.tenant, actor: caller.record.user, device: caller.device,
            detail: ["session": self.id.description, "role": caller.role.rawValue, "client": hello.client ?? ""]))
        reply(FrameEncoder.ok(id: id, HelloResult(
            user: caller.record.user, role: caller.role, session: self.id.description,
            heartbeat: hub.configuration.heartbeat)))
        await replayMissed(caller)
    }

    /// Waits while this connection has half its outbox limit queued, so a long replay never trips the
    /// slow-consumer close. False if the connection went away meanwhile.
    private func paceReplay() async -> Bool {
        let threshold = hub.transport.backlogLimit / 2
        while hub.transport.backlog(of: peer) > threshold {
            if isClosed { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    /// Sends every durable message above the user's ack in each of their rooms (seq order per room),
    /// then `synced`, then the live messages held meanwhile.
    private func replayMissed(_ caller: Caller) async {
        var replayed: [String: UInt64] = [:]
        var count = 0
        for room in hub.rooms.rooms(of: caller.key) {
            guard let missed = try? await room.unacked(user: caller.record.user), let last = missed.last else { continue }
            for message in missed {
                guard await paceReplay() else { return }
                hub.transport.send(message.frame, to: peer)
            }
            replayed[room.id] = last.seq
            count += missed.count
        }
        RoomMetrics.replayed.increment(by: count)
        for offer in await hub.mod.offers(for: caller) { hub.transport.send(offer, to: peer) }
        for frame in await hub.calls.sessionStarted(caller, session: id) { hub.transport.send(frame, to: peer) }
        syncGate.end(replayed: replayed, synced: FrameEncoder.event(SyncedEvent()), transport: hub.transport, peer: peer)
    }
}
