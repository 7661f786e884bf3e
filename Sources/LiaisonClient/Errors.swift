/// Why a client operation failed on this side of the wire.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection could not be established (refused, TLS, handshake…).
    case connectFailed(String)
    /// The connection is closed (or closed while waiting); carries how it ended.
    case closed(CloseInfo)
    /// The engine was shut down.
    case engineStopped
    /// No reply came within the request's timeout.
    case timedOut(String)
    /// A request was made with a frame that is not a JSON object.
    case notAnObject
    /// The server's reply could not be read as expected (e.g. `hello`'s `ok` without a `user`).
    case unexpectedReply(JSON)

    public var description: String {
        switch self {
        case .connectFailed(let why): "connect failed: \(why)"
        case .closed(let info): "connection closed (\(info))"
        case .engineStopped: "client engine stopped"
        case .timedOut(let what): "no reply in time to \(what)"
        case .notAnObject: "frame is not a JSON object"
        case .unexpectedReply(let frame): "unexpected reply: \(frame)"
        }
    }
}

/// An `error` reply from the server: `{"type":"error","id":…,"code":…,"message":…}`.
public struct ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The protocol's error code (`unauthorized`, `not_found`, `rate_limited`, …).
    public let code: String
    /// The human-readable message.
    public let message: String
    /// The whole frame.
    public let frame: JSON

    public init(code: String, message: String, frame: JSON) {
        self.code = code
        self.message = message
        self.frame = frame
    }

    public var description: String { "\(code): \(message)" }
}
