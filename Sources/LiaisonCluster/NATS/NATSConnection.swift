import CNats
import Foundation

/// One connection to a NATS server with its JetStream context, reconnecting by itself when the server
/// goes away. Its calls block the calling thread (each is a round trip at most): call them from a
/// thread of their own, never from the libwebsockets service thread or an actor's executor.
public final class NATSConnection: @unchecked Sendable {
    let connection: OpaquePointer
    /// The JetStream context of key-value buckets (each log and blob store has its own).
    let jetStream: OpaquePointer
    private let publishFailures: UnsafeMutablePointer<lnats_publish_failures>

    /// Connects to `url` (`nats://host:port`, or several of one NATS cluster separated by commas) as `name`;
    /// JetStream requests wait up to `wait`.
    public init(url: String, name: String, wait: Duration = .seconds(5)) throws(NATSError) {
        var connection: OpaquePointer?
        let urls: [UnsafeMutablePointer<CChar>?] = url.split(separator: ",").map {
            strdup($0.trimmingCharacters(in: .whitespaces))
        }
        defer { urls.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = urls.map { $0.map { UnsafePointer($0) } }
        let connected = pointers.withUnsafeMutableBufferPointer {
            lnats_connect(&connection, $0.baseAddress, Int32($0.count), name)
        }
        try check("connect to \(url)", connected)
        publishFailures = .allocate(capacity: 1)
        publishFailures.initialize(to: lnats_publish_failures(failures: 0))
        var jetStream: OpaquePointer?
        let millis = wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000
        let status = lnats_jetstream(&jetStream, connection, millis, publishFailures)
        guard status == NATS_OK, let connection, let jetStream else {
            natsConnection_Destroy(connection)
            publishFailures.deallocate()
            throw NATSError("JetStream context", status)
        }
        self.connection = connection
        self.jetStream = jetStream
    }

    /// Whether the connection is up now (false while it reconnects).
    public var isConnected: Bool {
        natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED
    }

    /// Closes the connection: pending publishes are dropped, subscriptions end, blocked calls return.
    public func close() {
        natsConnection_Close(connection)
    }

    deinit {
        jsCtx_Destroy(jetStream)
        natsConnection_Close(connection)
        natsConnection_Destroy(connection)
        publishFailures.deallocate()
    }
}
