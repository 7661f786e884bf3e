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

    /// A new consumer made by `make` (given how long, in ms, its creation may take to be answered), tried
    /// again while that answer times out. A NATS 2.9 cluster with a server down places about half of new
    /// one-replica consumers on that server, and their creation is never answered; another attempt lands
    /// elsewhere.
    func consumer(_ what: String, attempts: Int = 10, attemptWait: Int64 = 1000,
                  _ make: (inout OpaquePointer?, Int64, inout jsErrCode) -> natsStatus) throws(NATSError) -> OpaquePointer
    {
        for attempt in 1...attempts {
            var subscription: OpaquePointer?
            var code = jsErrCode(0)
            let status = make(&subscription, attemptWait, &code)
            if status == NATS_OK, let subscription { return subscription }
            guard status == NATS_TIMEOUT, attempt < attempts else { throw NATSError(what, status, code: code) }
        }
        throw NATSError(what, NATS_TIMEOUT)
    }

    /// Failed asynchronous publishes so far.
    var failureCount: Int32 { lnats_failures(failures) }

    deinit {
        jsCtx_Destroy(pointer)
        failures.deallocate()
    }
}
