/// WebSocket close codes the server uses.
public enum CloseCode: UInt16, Sendable {
    case goingAway = 1001
    case invalidPayload = 1007
    case messageTooBig = 1009
    case internalError = 1011
    /// Cluster mode: the connection's session lived on an active node that is gone; reconnect (to any node).
    case serviceRestart = 1012
    case slowConsumer = 4008
    case unauthorized = 4401
    case replaced = 4409
}
