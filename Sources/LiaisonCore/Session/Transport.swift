/// A connected client as the transport knows it; the domain only passes it back to the transport.
public protocol Peer: AnyObject, Sendable {}

/// How the domain reaches clients. Implementations queue and return at once; they never block.
public protocol Transport: Sendable {
    /// Queues one frame for every peer in `peers` (one shared buffer, written to each in turn).
    func send(_ frame: OutboundFrame, to peers: [any Peer])

    /// Closes `peer`'s connection with `code` after what is already queued for it.
    func close(_ peer: any Peer, code: CloseCode, reason: String)

    /// Bytes queued for `peer` and not yet written to its socket.
    func backlog(of peer: any Peer) -> Int

    /// The most bytes a peer may have queued before it is closed as a slow consumer.
    var backlogLimit: Int { get }
}

extension Transport {
    public func send(_ frame: OutboundFrame, to peer: any Peer) {
        send(frame, to: [peer])
    }

    /// Sends an event to its recipients, timing the fan-out: from the frame's making to the last
    /// recipient's bytes written (the transport reports each with `OutboundFrame.deliveryFinished()`).
    public func broadcast(_ frame: OutboundFrame, to peers: [any Peer]) {
        guard !peers.isEmpty else { return }
        frame.expectDeliveries(peers.count)
        send(frame, to: peers)
    }
}
