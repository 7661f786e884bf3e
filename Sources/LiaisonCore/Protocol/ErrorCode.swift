/// Every error code of the wire contract.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case notMember = "not_member"
    case alreadyClaimed = "already_claimed"
    case alreadyAnswered = "already_answered"
    case busy
    case rateLimited = "rate_limited"
    case tooLarge = "too_large"
    case expired
    /// Cluster mode: the bus (NATS JetStream) cannot be reached, so a change cannot be made durable.
    case unavailable
    case `internal`
}

/// A refusal of a request: the code and a human-readable message for the `error` reply.
public struct ProtocolError: Error, Sendable, Equatable {
    public let code: ErrorCode
    public let message: String
    /// Extra fields of the error reply (e.g. the `call` a glare `busy` points to).
    public let details: [String: String]

    public init(_ code: ErrorCode, _ message: String, details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }
}
