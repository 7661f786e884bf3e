/// WebSocket close codes the server uses.
public enum CloseCode: UInt16, Sendable {
    case goingAway = 1001
    case invalidPayload = 1007
    case messageTooBig = 1009
    case internalError = 1011
    case slowConsumer = 4008
    case unauthorized = 4401
    case replaced = 4409
}
