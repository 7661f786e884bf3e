import LiaisonCore
import Logging

/// The hub's transport on the active node: frames for this node's connections go to its WebSocket server;
/// frames for sessions another node relays are published to that node, once per node for all its recipients.
public final class RoutingTransport: Transport {
    private let local: any Transport
    private let bus: NATSConnection
    private let logger = Logger(label: "liaison.cluster")

    public init(local: any Transport, bus: NATSConnection) {
        self.local = local
        self.bus = bus
    }

    public var backlogLimit: Int { local.backlogLimit }

    public func send(_ frame: OutboundFrame, to peers: [any Peer]) {
        var localPeers: [any Peer] = []
        var byEdge: [String: [RemotePeer]] = [:]
        for peer in peers {
            if let remote = peer as? RemotePeer { byEdge[remote.edge, default: []].append(remote) } else { localPeers.append(peer) }
        }
        if !localPeers.isEmpty { local.send(frame, to: localPeers) }
        for (edge, remotes) in byEdge {
            var message = RelayMessage.frameHeader(connections: remotes.map(\.connection), binary: frame.isBinary)
            message += UnsafeRawBufferPointer(start: frame.payloadStart, count: frame.count)
            do {
                try bus.publish(RelayMessage.outbound(to: edge), message)
            } catch {
                logger.warning("relaying a frame to node \(edge) failed: \(error)")
            }
            for remote in remotes {
                remote.sent.add(UInt64(frame.count), ordering: .relaxed)
                frame.deliveryFinished()
            }
        }
    }

    public func close(_ peer: any Peer, code: CloseCode, reason: String) {
        guard let remote = peer as? RemotePeer else { return local.close(peer, code: code, reason: reason) }
        let message = RelayMessage.close(connection: remote.connection, code: code.rawValue, reason: reason)
        do {
            try bus.publish(RelayMessage.outbound(to: remote.edge), message.bytes)
        } catch {
            logger.warning("relaying a close to node \(remote.edge) failed: \(error)")
        }
    }

    public func backlog(of peer: any Peer) -> Int {
        (peer as? RemotePeer)?.backlog ?? local.backlog(of: peer)
    }
}
