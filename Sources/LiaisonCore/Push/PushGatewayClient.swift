/// How a push gateway answered one notification.
public enum PushGatewayAnswer: Sendable, Equatable {
    /// Delivered (2xx); the gateway says these pushkeys are dead.
    case accepted(rejected: [String])
    /// Worth another try: 5xx, a timeout, no connection.
    case retryLater(String)
    /// Not worth another try: another 4xx, or an answer that is not the API's.
    case refused(String)
}

/// Posts notifications to Matrix Push Gateway API endpoints (`POST …/_matrix/push/v1/notify`).
public protocol PushGatewayClient: Sendable {
    func notify(url: String, body: [UInt8]) async -> PushGatewayAnswer
    /// Closes its connections (at shutdown).
    func shutdown() async
}
