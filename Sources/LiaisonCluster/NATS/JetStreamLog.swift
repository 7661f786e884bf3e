import CNats
import Foundation

/// An append-only log in a JetStream stream (file storage), written by one writer at a time: every append
/// names the sequence it expects the log to end at, so a writer that is no longer the only one is refused
/// rather than interleaved. Its records are on one subject, or on several under one wildcard (`a.>`).
public final class JetStreamLog: @unchecked Sendable {
    public let stream: String
    /// The stream's subject: the one records are appended to unless told otherwise, or a wildcard.
    public let subject: String
    private let connection: NATSConnection
    private let context: JetStreamContext
    private let wait: Int64
    /// This writer's name in the message IDs of its records, and how many it has published.
    private let writer = UUID().uuidString.prefix(8)
    private var published = 0

    /// A record as it is read: its bytes are valid during the call it is handed to only.
    public struct Record {
        public let sequence: UInt64
        public let bytes: UnsafeRawBufferPointer
        fileprivate let message: OpaquePointer

        /// Whether the record was appended to `subject`.
        public func isOn(_ subject: String) -> Bool { strcmp(natsMsg_GetSubject(message), subject) == 0 }
    }

    /// Opens the stream `stream` of `subject`, creating it with `replicas` copies if it does not exist.
    public init(_ connection: NATSConnection, stream: String, subject: String, replicas: Int, wait: Duration = .seconds(5))
        throws(NATSError)
    {
        self.connection = connection
        context = try JetStreamContext(connection, wait: wait)
        self.stream = stream
        self.subject = subject
        self.wait = wait.components.seconds * 1000
        var code = jsErrCode(0)
        let status = lnats_ensure_stream(context.pointer, stream, subject, Int64(replicas), &code)
        guard status != NATS_MISMATCH else {
            throw NATSError("stream \(stream) holds other subjects than \(subject) (made by an older Liaison: remove it)", status)
        }
        guard status == NATS_OK else { throw NATSError("stream \(stream)", status, code: code) }
    }

    /// Whether the bus is reachable now.
    public var isConnected: Bool { connection.isConnected }

    /// The sequence of the newest record (0: the log is empty).
    public func lastSequence() throws(NATSError) -> UInt64 {
        var last: UInt64 = 0
        var code = jsErrCode(0)
        let status = lnats_last_sequence(context.pointer, stream, &last, &code)
        guard status == NATS_OK else { throw NATSError("stream \(stream) info", status, code: code) }
        return last
    }

    /// Hands `each` every record from sequence `first` up to `last`, oldest first, in place, fetched in batches
    /// through a pull consumer. A batch is about `fetchBytes` (its count follows the records' sizes so far): the
    /// NATS server closes a client that falls 64 MiB behind, and libnats holds a batch in memory.
    public func forEach(from first: UInt64 = 1, through last: UInt64, _ each: (Record) -> Void) throws {
        guard last > 0, first <= last else { return }
        let subscription = try context.consumer("read \(stream): make a consumer") { subscription, wait, code in
            lnats_pull_all(&subscription, context.pointer, subject, first, wait, &code)
        }
        defer {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
        }
        // The first batch assumes the largest records NATS carries (1 MiB).
        var count = Self.fetchBytes >> 20
        try context.fetch(subscription, from: stream, through: last, wait: wait, batch: { count }) { messages in
            var bytes = 0
            for message in messages {
                let length = Int(natsMsg_GetDataLength(message))
                bytes += length
                each(Record(sequence: lnats_stream_sequence(message),
                            bytes: UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: length), message: message))
            }
            count = min(Self.fetchRecords, max(1, Self.fetchBytes / max(1, bytes / max(1, messages.count))))
        }
    }

    /// About how many bytes, and at most how many records, a read fetches at a time.
    static let fetchBytes = 16 << 20
    static let fetchRecords = 4096

    /// The bytes of the record at `sequence`, nil if the log has none there (never written, or purged).
    public func record(at sequence: UInt64) throws(NATSError) -> [UInt8]? {
        var message: OpaquePointer?
        var code = jsErrCode(0)
        let status = lnats_get_message(&message, context.pointer, stream, sequence, wait, &code)
        if status == NATS_NOT_FOUND || code == JSNoMessageFoundErr { return nil }
        guard status == NATS_OK, let message else { throw NATSError("read \(stream) at \(sequence)", status, code: code) }
        defer { natsMsg_Destroy(message) }
        return Array(UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: Int(natsMsg_GetDataLength(message))))
    }

    /// Removes the records of `subject` below sequence `sequence`.
    public func purge(_ subject: String, below sequence: UInt64) throws(NATSError) {
        var code = jsErrCode(0)
        let status = lnats_purge_below(context.pointer, stream, subject, sequence, &code)
        guard status == NATS_OK else { throw NATSError("purge \(subject) below \(sequence)", status, code: code) }
    }

    /// Appends `records` in order after sequence `expectedLast`, pipelined, and waits for every ack; each goes
    /// to the subject `subject` gives it (by default the log's). Throws if any was refused (the log no longer
    /// ends at `expectedLast`: another writer wrote) or not acknowledged in time; records before the refused
    /// one may be stored.
    public func append<Records: Collection>(_ records: Records, after expectedLast: UInt64,
                                            subject: (Records.Element) -> String? = { _ in nil }) throws(NATSError)
    where Records.Element: ContiguousBytes {
        let failuresBefore = context.failureCount
        // Each record after the first expects the one before it (by message ID): once one is refused, so are
        // the rest, even if another writer's records make the log end where they expected it to.
        var previous: String?
        for record in records {
            published += 1
            let id = "\(writer)-\(published)"
            let status = record.withUnsafeBytes { bytes in
                lnats_publish_fenced(context.pointer, subject(record) ?? self.subject, bytes.baseAddress,
                                     Int32(bytes.count), expectedLast, id, previous)
            }
            previous = id
            try check("append to \(stream)", status)
        }
        try check("acks from \(stream)", lnats_publish_complete(context.pointer, wait))
        guard context.failureCount == failuresBefore else {
            throw NATSError("append to \(stream) after sequence \(expectedLast)", NATS_ERR)
        }
    }
}
