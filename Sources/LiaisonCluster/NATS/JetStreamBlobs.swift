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
        guard status != NATS_MISMATCH else {
            throw NATSError("stream \(stream) holds other subjects than \(prefix).> (made by an older Liaison: remove it)", status)
        }
        guard status == NATS_OK else { throw NATSError("stream \(stream)", status, code: code) }
    }

    private func subject(_ name: String) -> String { "\(prefix).\(name)" }

    /// Chunks published before waiting for their acks: what a store holds in memory at most.
    static let chunksInFlight = 8

    /// Stores the `size` bytes `read(offset, length)` gives, a chunk at a time, as blob `name`; returns once
    /// JetStream holds every chunk. At most `chunksInFlight` chunks are in memory at once.
    public func put(_ name: String, size: Int, read: (_ offset: Int, _ length: Int) throws -> [UInt8]) throws {
        let count = max(1, (size + chunkBytes - 1) / chunkBytes)
        let failuresBefore = context.failureCount
        for index in 0..<count {
            let offset = index * chunkBytes
            let bytes = try read(offset, min(chunkBytes, size - offset))
            var chunk = Self.header(index: index, count: count)
            chunk += bytes
            let status = chunk.withUnsafeBytes {
                lnats_publish_async(context.pointer, subject(name), $0.baseAddress, Int32($0.count))
            }
            try check("store \(name) in \(stream)", status)
            if (index + 1) % Self.chunksInFlight == 0 || index == count - 1 {
                try check("acks from \(stream)", lnats_publish_complete(context.pointer, wait))
            }
        }
        guard context.failureCount == failuresBefore else {
            throw NATSError("store \(name) in \(stream)", NATS_ERR)
        }
    }

    /// Hands blob `name`'s bytes to `write`, a chunk at a time, in order; false if the stream has none (or only
    /// part of one: what was written then is incomplete).
    public func get(_ name: String, write: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        let subject = subject(name)
        let subscription = try context.consumer("read \(name) from \(stream)") { subscription, wait, code in
            lnats_pull_all(&subscription, context.pointer, subject, 1, wait, &code)
        }
        defer {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
        }
        var code = jsErrCode(0)
        var (expected, count) = (0, 1)
        var heard = ContinuousClock.now
        while true {
            var list = natsMsgList()
            let batch = min(count - expected, JetStreamLog.fetchBytes / chunkBytes)
            let fetched = natsSubscription_Fetch(&list, subscription, Int32(max(1, batch)), 250, &code)
            defer { natsMsgList_Destroy(&list) }
            guard fetched == NATS_OK || fetched == NATS_TIMEOUT else {
                throw NATSError("read \(name) from \(stream)", fetched, code: code)
            }
            guard list.Count > 0 else {
                // No first chunk within 2 s: there is no such blob.
                if ContinuousClock.now - heard > .milliseconds(expected == 0 ? 2000 : wait) { return false }
                continue
            }
            heard = .now
            for index in 0..<Int(list.Count) {
                guard let message = list.Msgs[index] else { continue }
                let length = Int(natsMsg_GetDataLength(message))
                guard length >= 8 else { return false }
                let chunk = UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: length)
                guard Self.integer(chunk, at: 0) == expected else { return false }
                count = Self.integer(chunk, at: 4)
                try write(UnsafeRawBufferPointer(rebasing: chunk[8...]))
                expected += 1
                if expected == count { return true }
            }
        }
    }

    /// Hands `each` every chunk of every blob of the stream, in the order they were stored: the blob's name,
    /// where in it the chunk's bytes start, and the bytes (valid during the call only). One consumer reads
    /// them all, the fastest way to fetch many blobs.
    public func forEachChunk(_ each: (_ name: Substring, _ offset: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void)
        throws
    {
        let (_, last) = try size()
        guard last > 0 else { return }
        let subscription = try context.consumer("read \(stream): make a consumer") { subscription, wait, code in
            lnats_pull_all(&subscription, context.pointer, "\(prefix).>", 1, wait, &code)
        }
        defer {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
        }
        let skip = prefix.utf8.count + 1
        // About JetStreamLog.fetchBytes a batch (see there).
        try context.fetch(subscription, from: stream, through: last, wait: wait, batch: { JetStreamLog.fetchBytes / chunkBytes })
        { messages in
            for message in messages {
                let length = Int(natsMsg_GetDataLength(message))
                guard length >= 8 else { continue }
                let chunk = UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: length)
                let name = String(cString: natsMsg_GetSubject(message)).dropFirst(skip)
                try each(name, Self.integer(chunk, at: 0) * chunkBytes, UnsafeRawBufferPointer(rebasing: chunk[8...]))
            }
        }
    }

    /// The bytes the stream holds and the sequence of its newest message.
    public func size() throws(NATSError) -> (bytes: UInt64, last: UInt64) {
        var (bytes, last): (UInt64, UInt64) = (0, 0)
        var code = jsErrCode(0)
        let status = lnats_stream_size(context.pointer, stream, &bytes, &last, &code)
        guard status == NATS_OK else { throw NATSError("stream \(stream) info", status, code: code) }
        return (bytes, last)
    }

    /// Removes every chunk stored before sequence `sequence`, of whichever blob.
    public func removeAll(below sequence: UInt64) throws(NATSError) {
        var code = jsErrCode(0)
        let status = lnats_purge_below(context.pointer, stream, nil, sequence, &code)
        guard status == NATS_OK else { throw NATSError("purge \(stream) below \(sequence)", status, code: code) }
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
