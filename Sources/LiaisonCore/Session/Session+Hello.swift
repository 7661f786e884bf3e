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

    func handleHello(_ hello: Request.Hello, id: String, receivedAt: ContinuousClock.Instant) async {
        let record: UserRecord
        do {
            record = try await hub.verifier.verify(hello.token)
        } catch {
            refuse(id: id, type: "hello", error)
            end(closing: .unauthorized, reason: "unauthorized")
            return
        }
        guard !hello.device.isEmpty, hello.device.count <= 128 else {
            refuse(id: id, type: "hello", ProtocolError(.badRequest, "field 'device' must be 1 to 128 characters"))
            return
        }
        let caller = Caller(record: record, device: hello.device)
        do {
            try await hub.directory.put(caller.record)
        } catch {
            refuse(id: id, type: "hello", ProtocolError(.internal, "the user directory could not be written"))
            return
        }
        activate(caller)
        syncGate.begin()
        if let replaced = hub.registry.register(self, as: caller), let replacedPeer = replaced.peer {
            hub.transport.close(replacedPeer, code: .replaced, reason: "replaced by a new connection of this device")
        }
        await hub.presence.connect(caller.key, device: caller.device, session: self.id)
        if !hub.push.withPushers([caller.key]).isEmpty { await hub.push.connected(caller.key) }
        Instruments.sessionsStarted.increment()
        hub.audit.record(AuditEvent(
            "session.start", tenant: caller.record.tenant, actor: caller.record.user, device: caller.device,
            detail: ["session": self.id.description, "role": caller.role.rawValue, "client": hello.client ?? ""]))
        reply(FrameEncoder.ok(id: id, HelloResult(
            user: caller.record.user, role: caller.role, session: self.id.description,
            heartbeat: hub.configuration.heartbeat)))
        Instruments.requestAnswered("hello", receivedAt: receivedAt)
        await replayMissed(caller)
    }

    /// Waits while this connection has half its outbox limit queued, so a long replay never trips the
    /// slow-consumer close. False if the connection went away meanwhile.
    private func paceReplay() async -> Bool {
        let threshold = hub.transport.backlogLimit / 2
        while let peer, hub.transport.backlog(of: peer) > threshold {
            if isClosed { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return peer != nil && !isClosed
    }

    /// Sends every message above the user's ack in each of their rooms that was durable when the replay
    /// began (seq order per room), then `synced`, then the live messages held meanwhile, paced by the
    /// connection's backlog. The first pass stops where each room stood when it began: a replay that chased
    /// the live tail of a busy room would reach `synced` only once the reader outran the senders.
    private func replayMissed(_ caller: Caller) async {
        var sent: [String: UInt64] = [:]
        guard await replayRooms(of: caller, after: &sent, toWhereTheyStand: true) else { return }
        for offer in await hub.mod.offers(for: caller) { reply(offer) }
        for invitation in await hub.meetings.pendingInvitations(for: caller) { reply(invitation) }
        for frame in await hub.calls.sessionStarted(caller, session: id) { reply(frame) }
        reply(FrameEncoder.event(SyncedEvent()))
        while true {
            switch syncGate.next(upTo: max(1, hub.transport.backlogLimit / 4)) {
            case .open:
                return
            case .replayAgain:
                guard await replayRooms(of: caller, after: &sent) else { return }
            case .release(let held):
                for message in held where message.seq > sent[message.room, default: 0] {
                    reply(message.frame)
                    sent[message.room] = message.seq
                }
                guard await paceReplay() else { return }
            }
        }
    }

    static let replayPage = 256
    static let replayAttempts = 3

    /// Sends each room's durable messages after `sent` (or after the user's ack for a room not in it), a
    /// page at a time, paced; `toWhereTheyStand` stops each room at its newest durable message as its
    /// replay begins (later ones are held by the gate). A room whose messages cannot be read is retried; if
    /// it still fails, the connection is closed (1011) rather than `synced` sent over a gap. False when the
    /// replay must stop.
    private func replayRooms(of caller: Caller, after sent: inout [String: UInt64], toWhereTheyStand: Bool = false)
        async -> Bool
    {
        var count = 0
        defer { RoomMetrics.replayed.increment(by: count) }
        for room in hub.rooms.rooms(of: caller.key) {
            let through = toWhereTheyStand ? room.lastDurableSeq : nil
            while true {
                guard let page = await readPage(room, user: caller.record.user, after: sent[room.id], through: through)
                else {
                    hub.audit.record(AuditEvent(
                        "session.replay_failed", tenant: caller.record.tenant, actor: caller.record.user,
                        device: caller.device, detail: ["room": room.id, "session": id.description]))
                    end(closing: .internalError, reason: "the offline replay failed; reconnect to retry")
                    return false
                }
                guard let last = page.last else { break }
                for message in page {
                    guard await paceReplay() else { return false }
                    reply(message.frame)
                }
                sent[room.id] = last.seq
                count += page.count
                if page.count < Self.replayPage { break }
            }
        }
        return true
    }

    /// One page of `room`'s messages for the replay, retried with a short backoff; nil if it keeps failing.
    private func readPage(_ room: RoomActor, user: String, after seq: UInt64?, through: UInt64?) async
        -> [StoredMessage]?
    {
        for attempt in 1...Self.replayAttempts {
            do {
                return try await room.unacked(user: user, after: seq, through: through, limit: Self.replayPage)
            } catch {
                hub.logger.error("replay of room \(room.id) for \(user) failed (attempt \(attempt)): \(error.message)")
                if attempt < Self.replayAttempts { try? await Task.sleep(for: .milliseconds(50 << attempt)) }
            }
        }
        return nil
    }
}
