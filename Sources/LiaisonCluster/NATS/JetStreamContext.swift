import CNats
import Foundation

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

    /// Fetches the messages of the pull consumer `subscription` of `stream` in batches of `batch()` and hands
    /// each batch to `each` (valid during the call only), up to and including the one with stream sequence
    /// `last`. Each fetch waits at most a quarter second: the server sometimes stops short of a batch it could
    /// fill and holds the rest back until the fetch expires, and the next fetch gets them at once. Throws once
    /// no message came for `wait` ms, or if libnats dropped any (past the subscription's limits).
    func fetch(_ subscription: OpaquePointer, from stream: String, through last: UInt64, wait: Int64,
               batch: () -> Int, _ each: ([OpaquePointer]) throws -> Void) throws {
        var code = jsErrCode(0)
        var lastMessage = ContinuousClock.now
        while true {
            var list = natsMsgList()
            let fetched = natsSubscription_Fetch(&list, subscription, Int32(batch()), 250, &code)
            defer { natsMsgList_Destroy(&list) }
            var dropped: Int64 = 0
            natsSubscription_GetDropped(subscription, &dropped)
            guard dropped == 0 else { throw NATSError("read \(stream): \(dropped) messages dropped", NATS_SLOW_CONSUMER) }
            let messages = (0..<Int(list.Count)).compactMap { list.Msgs[$0] }
            guard !messages.isEmpty else {
                guard fetched == NATS_TIMEOUT || fetched == NATS_OK,
                      ContinuousClock.now - lastMessage < .milliseconds(wait) else {
                    throw NATSError("read \(stream)", fetched == NATS_OK ? NATS_TIMEOUT : fetched, code: code)
                }
                continue
            }
            lastMessage = .now
            let through = messages.prefix { lnats_stream_sequence($0) < last }.count
            try each(Array(messages.prefix(through + 1)))
            if through < messages.count { return }
        }
    }

    /// Failed asynchronous publishes so far.
    var failureCount: Int32 { lnats_failures(failures) }

    deinit {
        jsCtx_Destroy(pointer)
        failures.deallocate()
    }
}
