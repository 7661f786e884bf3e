import CNats

/// A subscription to a subject: libnats calls `handler` with each message's bytes (valid during the call
/// only: copy what is kept), in order, on a thread of the subscription's own. Ends with `cancel()` (or when
/// released).
public final class NATSSubscription: @unchecked Sendable {
    /// What libnats' C callback reaches through its closure pointer.
    private final class Handler {
        let deliver: @Sendable (UnsafeRawBufferPointer) -> Void
        init(_ deliver: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) { self.deliver = deliver }
    }

    private let subscription: OpaquePointer
    private let handler: Unmanaged<Handler>

    init(_ connection: NATSConnection, subject: String,
         handler deliver: @escaping @Sendable (UnsafeRawBufferPointer) -> Void)
        throws(NATSError)
    {
        let handler = Unmanaged.passRetained(Handler(deliver))
        var subscription: OpaquePointer?
        let status = lnats_subscribe(&subscription, connection.connection, subject, { _, _, message, closure in
            guard let message, let closure else { return }
            defer { natsMsg_Destroy(message) }
            let bytes = UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: Int(natsMsg_GetDataLength(message)))
            Unmanaged<Handler>.fromOpaque(closure).takeUnretainedValue().deliver(bytes)
        }, handler.toOpaque())
        guard status == NATS_OK, let subscription else {
            handler.release()
            throw NATSError("subscribe to \(subject)", status)
        }
        self.subscription = subscription
        self.handler = handler
    }

    /// Stops the deliveries (one under way finishes first).
    public func cancel() {
        natsSubscription_Unsubscribe(subscription)
    }

    deinit {
        natsSubscription_Unsubscribe(subscription)
        natsSubscription_Destroy(subscription)
        handler.release()
    }
}

extension NATSConnection {
    /// Publishes `bytes` on `subject` (core NATS: at most once, in order per publisher and subject).
    public func publish(_ subject: String, _ bytes: [UInt8]) throws(NATSError) {
        let status = bytes.withUnsafeBytes { natsConnection_Publish(connection, subject, $0.baseAddress, Int32($0.count)) }
        try check("publish to \(subject)", status)
    }

    /// Publishes the bytes at `pointer` (core NATS), without copying them first.
    public func publish(_ subject: String, _ bytes: UnsafeRawBufferPointer) throws(NATSError) {
        try check("publish to \(subject)", natsConnection_Publish(connection, subject, bytes.baseAddress, Int32(bytes.count)))
    }

    /// Subscribes `handler` to `subject`.
    public func subscribe(_ subject: String, handler: @escaping @Sendable (UnsafeRawBufferPointer) -> Void)
        throws(NATSError)
        -> NATSSubscription
    {
        try NATSSubscription(self, subject: subject, handler: handler)
    }
}
