import Foundation
import LiaisonCore
import LiaisonSync
import Logging
import Synchronization

/// A relaying node's side: each WebSocket connection it accepts while another node is active gets a
/// `RelayedSession` that publishes its input to the active node; the frames and closes the active node sends
/// back are handed to the connections. Every 20 ms it reports how far each connection's frames got (the
/// active node paces replays by it), and every second that it is alive.
public final class RelayEdge: SessionOpener, @unchecked Sendable {
    /// A relayed connection: its peer, and the frame bytes received for it and last reported.
    fileprivate final class Link: @unchecked Sendable {
        let peer: any Peer
        let received = Atomic<UInt64>(0)
        // Reporter thread only.
        var reported: (received: UInt64, backlog: UInt64) = (0, 0)

        init(peer: any Peer) { self.peer = peer }
    }

    public let node: String
    fileprivate let bus: NATSConnection
    private let transport: any Transport
    fileprivate let links = Locked<[UInt64: Link]>([:])
    /// Connection ids start at a random point so that a restarted node never reuses one the active node knows.
    private let nextID = Atomic<UInt64>(UInt64.random(in: 1...UInt64(UInt32.max)) << 32)
    private let stopped = Atomic<Bool>(false)
    private var subscription: NATSSubscription?
    private let logger = Logger(label: "liaison.cluster")

    /// Starts relaying for node `node` over `bus`; `transport` reaches this node's connections.
    public init(node: String, bus: NATSConnection, transport: any Transport) throws {
        self.node = node
        self.bus = bus
        self.transport = transport
        subscription = try bus.subscribe(RelayMessage.outbound(to: node)) { [weak self] bytes in self?.deliver(bytes) }
        let reporter = Thread { [weak self] in
            var tick = 0
            while let self, !self.stopped.load(ordering: .relaxed) {
                self.report(alive: tick % 50 == 0)
                tick += 1
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        reporter.name = "relay-reporter"
        reporter.start()
    }

    public func open(_ peer: any Peer) -> any SessionEndpoint {
        let id = nextID.add(1, ordering: .relaxed).newValue
        links.withLock { $0[id] = Link(peer: peer) }
        publish(.opened(edge: node, connection: id))
        return RelayedSession(edge: self, connection: id)
    }

    /// Closes every relayed connection with 1012 (the active node changed: their sessions are gone).
    public func closeAll(reason: String) {
        let all = links.withLock { $0.values.map(\.peer) }
        for peer in all { transport.close(peer, code: .serviceRestart, reason: reason) }
    }

    /// Stops the reports and the deliveries (the node stops relaying).
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        subscription?.cancel()
    }

    fileprivate func publish(_ message: RelayMessage) {
        do {
            try bus.publish(RelayMessage.inbound, message.bytes)
        } catch {
            logger.warning("relaying to the active node failed: \(error)")
        }
    }

    fileprivate func forget(_ connection: UInt64) {
        links.withLock { $0[connection] = nil }
    }

    /// A message from the active node: a frame for some connections (its payload copied once, into the frame
    /// they all share), or a close.
    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let message = RelayMessage.frame(in: bytes) {
            let frame = OutboundFrame(payload: message.payload, binary: message.binary)
            let targets = links.withLock { links in message.connections.compactMap { links[$0] } }
            for link in targets { link.received.add(UInt64(frame.count), ordering: .relaxed) }
            transport.send(frame, to: targets.map(\.peer))
            return
        }
        switch RelayMessage(bytes) {
        case .close(let connection, let code, let reason):
            guard let link = links.withLock({ $0[connection] }) else { return }
            transport.close(link.peer, code: CloseCode(rawValue: code) ?? .internalError, reason: reason)
        default:
            logger.warning("a relay message from the active node could not be read (\(bytes.count) bytes)")
        }
    }

    /// Publishes what changed for each connection since the last report, and with `alive` that this node is.
    private func report(alive: Bool) {
        let all = links.withLock { Array($0) }
        var changed: [RelayMessage.Progress] = []
        for (id, link) in all {
            let now = (received: link.received.load(ordering: .relaxed), backlog: UInt64(transport.backlog(of: link.peer)))
            guard now != link.reported else { continue }
            link.reported = now
            changed.append(RelayMessage.Progress(connection: id, received: now.received, backlog: now.backlog))
        }
        if !changed.isEmpty { publish(.progress(edge: node, changed)) }
        if alive { publish(.alive(edge: node)) }
    }
}

/// A connection of a relaying node: its input goes to its session on the active node.
final class RelayedSession: SessionEndpoint {
    private let edge: RelayEdge
    private let connection: UInt64

    fileprivate init(edge: RelayEdge, connection: UInt64) {
        self.edge = edge
        self.connection = connection
    }

    func receive(text: Data) { edge.publish(.text(edge: edge.node, connection: connection, text)) }
    func receiveBinary() { edge.publish(.binary(edge: edge.node, connection: connection)) }

    func disconnected() {
        edge.forget(connection)
        edge.publish(.closed(edge: edge.node, connection: connection))
    }
}
