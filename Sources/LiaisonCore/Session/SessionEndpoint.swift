import Foundation

/// What a transport connection hands its input to: a `Session` of this process's hub, or in cluster mode
/// a relay to the session on the active node.
public protocol SessionEndpoint: AnyObject, Sendable {
    /// A complete text message arrived.
    func receive(text: Data)
    /// A binary message arrived (the protocol has none).
    func receiveBinary()
    /// The connection is gone.
    func disconnected()
}

/// Opens the endpoint of each connection a transport accepts.
public protocol SessionOpener: Sendable {
    /// The endpoint for `peer`'s connection, started: its input may arrive at once.
    func open(_ peer: any Peer) -> any SessionEndpoint
}

extension Session: SessionEndpoint {}

extension Hub: SessionOpener {
    public func open(_ peer: any Peer) -> any SessionEndpoint {
        let session = makeSession()
        session.start(peer: peer)
        return session
    }
}
