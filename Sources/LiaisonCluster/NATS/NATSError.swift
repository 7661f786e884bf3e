import CNats

/// A libnats call that failed: which one, its status, and for JetStream calls the server's error code.
public struct NATSError: Error, CustomStringConvertible {
    public let operation: String
    public let status: String
    /// JetStream's error code (0 when there is none).
    public let code: Int

    init(_ operation: String, _ status: natsStatus, code: jsErrCode = jsErrCode(0)) {
        self.operation = operation
        self.status = String(cString: natsStatus_GetText(status))
        self.code = Int(code.rawValue)
        let detail = nats_GetLastError(nil).map { String(cString: $0) } ?? ""
        lastError = detail.isEmpty ? nil : detail
    }

    /// libnats' own description of the failure, when it left one.
    public let lastError: String?

    public var description: String {
        "\(operation): \(status)\(code != 0 ? " (JetStream error \(code))" : "")\(lastError.map { ": \($0)" } ?? "")"
    }
}

/// Runs a libnats call, turning a status other than NATS_OK into a `NATSError`.
func check(_ operation: String, _ status: natsStatus) throws(NATSError) {
    guard status == NATS_OK else { throw NATSError(operation, status) }
}
