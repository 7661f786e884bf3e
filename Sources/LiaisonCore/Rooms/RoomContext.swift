/// What every room actor shares: durability, delivery, audit and the room index.
struct RoomContext: Sendable {
    let journal: any JournalWriter
    let transport: any Transport
    let registry: SessionRegistry
    let audit: AuditLog
    let index: RoomIndex
    /// Display names for the events that name a user.
    let directory: UserDirectory
    /// Wakes members' devices that are not connected.
    let push: PushService
    /// Messages a room keeps in memory beyond what is unarchived.
    let memoryMessages: Int

    /// Sends `frame` to every connected device of `members` (of `tenant`), except `excluding`.
    /// A `msg` (with `seq`) is held for sessions still replaying.
    func deliver(_ frame: OutboundFrame, to members: [String], tenant: String, seq: (room: String, seq: UInt64)? = nil,
                 excluding: SessionID? = nil) {
        let sessions = registry.sessions(ofAll: members.map { UserKey(tenant: tenant, user: $0) })
        var peers: [any Peer] = []
        peers.reserveCapacity(sessions.count)
        for session in sessions where session.id != excluding {
            if let seq, session.syncGate.hold(frame, room: seq.room, seq: seq.seq) { continue }
            if let peer = session.peer { peers.append(peer) }
        }
        transport.broadcast(frame, to: peers)
    }
}

/// Sends the reply of one request, now or once its change is durable (or once what it depends on is),
/// and times it from the request's arrival (`liaison_request_duration_seconds{type}`).
public struct Responder: Sendable {
    let id: String
    /// The request's type, for the audit record of a refusal and its timer.
    let type: String
    let session: Session
    let caller: Caller
    let receivedAt: ContinuousClock.Instant

    func ok(_ result: some Encodable) {
        reply(FrameEncoder.ok(id: id, result))
    }

    func ok(_ result: some JSONWritable) {
        reply(FrameEncoder.ok(id: id, written: result))
    }

    /// `ok` with no result fields.
    func ok() {
        reply(FrameEncoder.ok(id: id))
    }

    /// A reply already encoded.
    func reply(_ frame: OutboundFrame) {
        session.reply(frame)
        Instruments.requestAnswered(type, receivedAt: receivedAt)
    }

    /// Answers with an error the way the session does (counted and audited).
    func refuse(_ error: ProtocolError) {
        session.refuse(id: id, type: type, error, caller: caller)
        Instruments.requestAnswered(type, receivedAt: receivedAt)
    }
}
