import CNats

/// A JetStream context on a connection, with the count of its failed asynchronous publishes. Each writer
/// (the journal, the audit trail, the file store) has its own: waiting for one context's acks never waits
/// for another's, and a failure is counted where it happened.
final class JetStreamContext: @unchecked Sendable {
    let pointer: OpaquePointer
    let failures: UnsafeMutablePointer<lnats_publish_failures>
    /// Keeps the connection open as long as the context is used.
    private let connection: NATSConnection

    init(_ connection: NATSConnection, wait: Duration) throws(NATSError) {
        failures = .allocate(capacity: 1)
        failures.initialize(to: lnats_publish_failures(failures: 0))
        var context: OpaquePointer?
        let millis = wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000
        let status = lnats_jetstream(&context, connection.connection, millis, failures)
        guard status == NATS_OK, let context else {
            failures.deallocate()
            throw NATSError("JetStream context", status)
        }
        pointer = context
        self.connection = connection
    }

    /// Failed asynchronous publishes so far.
    var failureCount: Int32 { lnats_failures(failures) }

    deinit {
        jsCtx_Destroy(pointer)
        failures.deallocate()
    }
}
