/// The server's answer to one request, matched by `id`.
public enum Reply: Sendable, Equatable {
    /// `{"type":"ok","id":…, …result fields}`: the whole frame.
    case ok(JSON)
    /// `{"type":"error","id":…,"code":…,"message":…}`.
    case error(ServerError)

    /// The `ok` frame, or throws the ``ServerError``.
    public func get() throws(ServerError) -> JSON {
        switch self {
        case .ok(let frame): return frame
        case .error(let error): throw error
        }
    }

    /// `true` for `ok`.
    public var isOK: Bool {
        if case .ok = self { return true }
        return false
    }

    /// The error code, or `nil` for `ok`.
    public var errorCode: String? {
        if case .error(let error) = self { return error.code }
        return nil
    }

    /// The whole frame, `ok` or `error`.
    public var frame: JSON {
        switch self {
        case .ok(let frame): frame
        case .error(let error): error.frame
        }
    }

    /// A member of the reply frame.
    public subscript(key: String) -> JSON? { frame[key] }

    init(frame: JSON) {
        if frame["type"]?.string == "error" {
            self = .error(ServerError(
                code: frame["code"]?.string ?? "",
                message: frame["message"]?.string ?? "",
                frame: frame))
        } else {
            self = .ok(frame)
        }
    }
}

/// The `ok` answer to `hello`.
public struct HelloOK: Sendable, Equatable {
    /// The authenticated user id (`sub`).
    public let user: String
    /// `hcp`, `msl`, `fmd` or `admin`.
    public let role: String
    /// The server's session id.
    public let session: String
    /// Keepalive interval in seconds.
    public let heartbeat: Int
    /// The whole frame.
    public let frame: JSON

    init(frame: JSON) throws(ClientError) {
        guard let user = frame["user"]?.string else { throw .unexpectedReply(frame) }
        self.user = user
        self.role = frame["role"]?.string ?? ""
        self.session = frame["session"]?.string ?? ""
        self.heartbeat = frame["heartbeat"]?.int ?? 0
        self.frame = frame
    }
}

/// How a connection ended.
public struct CloseInfo: Sendable, Equatable, CustomStringConvertible {
    /// The close code the server sent (e.g. 4401, 4409, 1001, 1009), or `nil`
    /// when the connection ended without one (network error, failed connect,
    /// or a close this side initiated).
    public let code: Int?
    /// The close reason the server sent, or a local explanation.
    public let reason: String
    /// `true` when this side asked for the close (``ClientConnection/close(code:reason:)``).
    public let initiatedLocally: Bool

    public init(code: Int?, reason: String, initiatedLocally: Bool = false) {
        self.code = code
        self.reason = reason
        self.initiatedLocally = initiatedLocally
    }

    public var description: String {
        let who = initiatedLocally ? "by client" : "by server"
        if let code { return reason.isEmpty ? "\(code) \(who)" : "\(code) \(reason) \(who)" }
        return reason.isEmpty ? "no close frame" : reason
    }
}
