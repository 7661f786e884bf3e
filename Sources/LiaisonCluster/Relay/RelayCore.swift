import Foundation
import LiaisonCore
import LiaisonSync
import Logging
import Synchronization

/// The active node's side of relaying: a session of the hub for each connection another node relays, fed by
/// what that node publishes. A relaying node silent for `edgeTimeout` is taken for dead: its sessions end
/// (their users go offline after the presence grace unless they reconnect). If it was only stalled, its
/// connections are told to reconnect (1012) when it is heard from again, and so is any connection whose
/// input arrives without a session: without one, what it sends would go nowhere.
public final class RelayCore: @unchecked Sendable {
    private struct Relayed {
        let session: any SessionEndpoint
        let peer: RemotePeer
    }

    private struct Edge {
        var lastSeen: ContinuousClock.Instant
        var sessions: [UInt64: Relayed] = [:]
    }

    private let sessions: any SessionOpener
    private let bus: NATSConnection
    private let edges = Locked<[String: Edge]>([:])
    /// The connections of relaying nodes whose sessions ended when they fell silent, to be closed when they
    /// are heard from again.
    private let forgotten = Locked<[String: [UInt64]]>([:])
    private let edgeTimeout: Duration
    private let stopped = Atomic<Bool>(false)
    private var subscription: NATSSubscription?
    private let logger = Logger(label: "liaison.cluster")

    /// Serves the connections other nodes relay over `bus` with sessions `sessions` opens (the hub, whose
    /// transport must be a `RoutingTransport` on the same bus).
    public init(sessions: any SessionOpener, bus: NATSConnection, edgeTimeout: Duration = .seconds(3)) throws {
        self.sessions = sessions
        self.bus = bus
        self.edgeTimeout = edgeTimeout
        subscription = try bus.subscribe(RelayMessage.inbound) { [weak self] bytes in self?.receive(bytes) }
        let watchdog = Thread { [weak self] in
            while let self, !self.stopped.load(ordering: .relaxed) {
                self.endSilentEdges()
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        watchdog.name = "relay-watchdog"
        watchdog.start()
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
        subscription?.cancel()
    }

    private func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let message = RelayMessage(bytes) else {
            logger.warning("a relay message could not be read (\(bytes.count) bytes)")
            return
        }
        if let edge = message.edge, let connections = forgotten.withLock({ $0.removeValue(forKey: edge) }) {
            connections.forEach { tellToReconnect(edge, $0) }
        }
        switch message {
        case .opened(let edge, let connection):
            let peer = RemotePeer(edge: edge, connection: connection)
            let session = sessions.open(peer)
            edges.withLock { edges in
                edges[edge, default: Edge(lastSeen: .now)].sessions[connection] = Relayed(session: session, peer: peer)
            }
        case .text(let edge, let connection, let payload):
            guard let relayed = relayed(edge, connection) else { return tellToReconnect(edge, connection) }
            relayed.session.receive(text: payload)
        case .binary(let edge, let connection):
            guard let relayed = relayed(edge, connection) else { return tellToReconnect(edge, connection) }
            relayed.session.receiveBinary()
        case .closed(let edge, let connection):
            let ended = edges.withLock { $0[edge]?.sessions.removeValue(forKey: connection) }
            ended?.session.disconnected()
        case .progress(let edge, let entries):
            for entry in entries { relayed(edge, entry.connection)?.peer.update(entry) }
        case .alive(let edge):
            edges.withLock { $0[edge, default: Edge(lastSeen: .now)].lastSeen = .now }
        case .frame, .close:
            logger.warning("a relaying node sent a message only the active node sends")
        }
    }

    private func relayed(_ edge: String, _ connection: UInt64) -> Relayed? {
        edges.withLock { $0[edge]?.sessions[connection] }
    }

    private func endSilentEdges() {
        let now = ContinuousClock.now
        let silent = edges.withLock { edges in
            let gone = edges.filter { now - $0.value.lastSeen > edgeTimeout }
            for name in gone.keys { edges[name] = nil }
            return gone
        }
        for (name, edge) in silent where !edge.sessions.isEmpty {
            logger.notice("relaying node \(name) is silent: ending its \(edge.sessions.count) sessions")
            forgotten.withLock { $0[name, default: []] += edge.sessions.keys }
            edge.sessions.values.forEach { $0.session.disconnected() }
        }
    }

    /// Closes a relayed connection that has no session here (1012: it reconnects and resumes with `hello`).
    private func tellToReconnect(_ edge: String, _ connection: UInt64) {
        let close = RelayMessage.close(connection: connection, code: CloseCode.serviceRestart.rawValue,
                                       reason: "the cluster lost this connection's session; reconnect")
        do {
            try bus.publish(RelayMessage.outbound(to: edge), close.bytes)
        } catch {
            logger.warning("relaying a close to node \(edge) failed: \(error)")
        }
    }
}

/// A connection another node relays, as the active node's transport knows it.
final class RemotePeer: Peer {
    let edge: String
    let connection: UInt64
    /// Frame bytes sent to it, received by its node, and waiting there for its socket.
    let sent = Atomic<UInt64>(0)
    private let received = Atomic<UInt64>(0)
    private let edgeBacklog = Atomic<UInt64>(0)

    init(edge: String, connection: UInt64) {
        self.edge = edge
        self.connection = connection
    }

    func update(_ progress: RelayMessage.Progress) {
        received.store(progress.received, ordering: .relaxed)
        edgeBacklog.store(progress.backlog, ordering: .relaxed)
    }

    /// Bytes on their way to it (on the bus) or waiting at its node.
    var backlog: Int {
        let sent = sent.load(ordering: .relaxed), received = received.load(ordering: .relaxed)
        return Int(sent > received ? sent - received : 0) + Int(edgeBacklog.load(ordering: .relaxed))
    }
}
