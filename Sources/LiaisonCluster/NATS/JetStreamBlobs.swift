import CNats
import Foundation

/// Blobs in a JetStream stream (file storage): each blob is the messages of its own subject, chunks of at
/// most `chunkBytes` each prefixed with its index and the chunk count. libnats 3.4 has no object store.
public final class JetStreamBlobs: @unchecked Sendable {
    public let stream: String
    private let prefix: String
    private let connection: NATSConnection
    private let context: JetStreamContext
    private let chunkBytes: Int
    private let wait: Int64

    /// Opens the stream `stream` of the subjects `prefix.>`, creating it with `replicas` copies if needed.
    public init(_ connection: NATSConnection, stream: String, prefix: String, replicas: Int, chunkBytes: Int = 512 * 1024,
                wait: Duration = .seconds(10)) throws(NATSError) {
        self.connection = connection
        context = try JetStreamContext(connection, wait: wait)
        self.stream = stream
        self.prefix = prefix
        self.chunkBytes = chunkBytes
        self.wait = wait.components.seconds * 1000
        var code = jsErrCode(0)
        let status = lnats_ensure_stream(context.pointer, stream, "\(prefix).>", Int64(replicas), &code)
        guard status == NATS_OK else { throw NATSError("stream \(stream)", status, code: code) }
    }

    private func subject(_ name: String) -> String { "\(prefix).\(name)" }

    /// Stores `bytes` as blob `name` and waits until JetStream holds every chunk.
    public func put(_ name: String, _ bytes: [UInt8]) throws(NATSError) {
        let count = max(1, (bytes.count + chunkBytes - 1) / chunkBytes)
        let failuresBefore = context.failureCount
        for index in 0..<count {
            var chunk = Self.header(index: index, count: count)
            chunk += bytes[min(bytes.count, index * chunkBytes)..<min(bytes.count, (index + 1) * chunkBytes)]
            let status = chunk.withUnsafeBytes {
                lnats_publish_async(context.pointer, subject(name), $0.baseAddress, Int32($0.count))
            }
            try check("store \(name) in \(stream)", status)
        }
        try check("acks from \(stream)", lnats_publish_complete(context.pointer, wait))
        guard context.failureCount == failuresBefore else {
            throw NATSError("store \(name) in \(stream)", NATS_ERR)
        }
    }

    /// The bytes of blob `name`, or nil if the stream has none (or only part of one).
    public func get(_ name: String) throws(NATSError) -> [UInt8]? {
        var subscription: OpaquePointer?
        var code = jsErrCode(0)
        let status = lnats_read_all(&subscription, context.pointer, subject(name), &code)
        guard status == NATS_OK, let subscription else { throw NATSError("read \(name) from \(stream)", status, code: code) }
        defer {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
        }
        var bytes: [UInt8] = []
        var expected = 0
        while true {
            var message: OpaquePointer?
            let next = natsSubscription_NextMsg(&message, subscription, expected == 0 ? 2000 : wait)
            if next == NATS_TIMEOUT { return nil }
            try check("read \(name) from \(stream)", next)
            guard let message else { continue }
            defer { natsMsg_Destroy(message) }
            let length = Int(natsMsg_GetDataLength(message))
            guard length >= 8 else { return nil }
            let chunk = UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: length)
            let (index, count) = (Self.integer(chunk, at: 0), Self.integer(chunk, at: 4))
            guard index == expected else { return nil }
            bytes += chunk[8...]
            expected += 1
            if expected == count { return bytes }
        }
    }

    /// Removes blob `name`.
    public func remove(_ name: String) throws(NATSError) {
        var code = jsErrCode(0)
        let status = lnats_purge_subject(context.pointer, stream, subject(name), &code)
        guard status == NATS_OK else { throw NATSError("remove \(name) from \(stream)", status, code: code) }
    }

    private static func header(index: Int, count: Int) -> [UInt8] {
        [UInt32(index), UInt32(count)].flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    }

    private static func integer(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }
}
