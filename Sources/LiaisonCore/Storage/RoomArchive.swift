import Foundation

/// A room's files under `rooms/<id>/`: `meta.json` (the snapshot of everything but messages),
/// `messages.log` (every archived `msg` event, framed) and `messages.idx` (each message's offset in the
/// log, 8 bytes per seq). Only the snapshotter writes them; readers stay below the snapshot's `lastSeq`.
struct RoomArchive: Sendable {
    /// The snapshot of a room.
    struct Meta: Codable, Sendable {
        var id: String
        var tenant: String
        var kind: RoomKind
        var title: String?
        var createdAt: Millis
        var members: [String]
        /// Every message up to here is in `messages.log`.
        var lastSeq: UInt64
        var acked: [String: UInt64]
        var read: [String: UInt64]
        var snapshotAt: Millis
    }

    let directory: String
    let fileSystem: any FileSystem
    private var metaPath: String { Path.join(directory, "meta.json") }
    private var logPath: String { Path.join(directory, "messages.log") }
    private var indexPath: String { Path.join(directory, "messages.idx") }
    private var resendsPath: String { Path.join(directory, "resends.idx") }

    init(roomsDirectory: String, room: String, fileSystem: any FileSystem) {
        directory = Path.join(roomsDirectory, room)
        self.fileSystem = fileSystem
    }

    /// Every room snapshot under `roomsDirectory`.
    static func loadAll(_ roomsDirectory: String, fileSystem: any FileSystem) throws -> [Meta] {
        let decoder = JSONDecoder()
        return try fileSystem.list(roomsDirectory).compactMap { name in
            guard let data = try fileSystem.contents(of: Path.join(Path.join(roomsDirectory, name), "meta.json")) else {
                return nil
            }
            return try decoder.decode(Meta.self, from: Data(data))
        }
    }

    /// Appends `messages` (which follow `archivedSeq`) to the log and index and syncs both. A tail left
    /// by a crash after an earlier append (beyond `archivedSeq`) is cut first.
    func append(_ messages: [StoredMessage], after archivedSeq: UInt64) throws {
        guard !messages.isEmpty else { return }
        try fileSystem.makeDirectory(directory)
        let index = try fileSystem.openDurably(indexPath)
        let log = try fileSystem.openDurably(logPath)
        // Cut whatever a crash left beyond `archivedSeq` in either file, so the log stays contiguous.
        let indexLength = archivedSeq * 8
        let logLength = try endOfRecord(archivedSeq)
        if try fileSystem.size(of: indexPath) ?? 0 > indexLength { try fileSystem.truncate(indexPath, to: indexLength) }
        if try fileSystem.size(of: logPath) ?? 0 > logLength { try fileSystem.truncate(logPath, to: logLength) }
        var logBytes: [UInt8] = []
        var indexBytes: [UInt8] = []
        for message in messages {
            withUnsafeBytes(of: (logLength + UInt64(logBytes.count)).littleEndian) { indexBytes += $0 }
            RecordFraming.append(UnsafeRawBufferPointer(start: message.frame.payloadStart, count: message.frame.count), to: &logBytes)
        }
        try log.append(logBytes)
        try log.sync()
        try index.append(indexBytes)
        try index.sync()
        try appendResends(messages)
    }

    /// Appends `(hash of sender and client_msg_id, seq)` for each message that has a `client_msg_id`.
    /// Entries past the snapshot (left by a crash) are ignored when read.
    private func appendResends(_ messages: [StoredMessage]) throws {
        var bytes: [UInt8] = []
        for message in messages {
            guard let id = message.clientMsgID else { continue }
            withUnsafeBytes(of: ResendKey.hash(from: message.from, clientMsgID: id).littleEndian) { bytes += $0 }
            withUnsafeBytes(of: message.seq.littleEndian) { bytes += $0 }
        }
        guard !bytes.isEmpty else { return }
        let file = try fileSystem.openDurably(resendsPath)
        try file.append(bytes)
        try file.sync()
    }

    /// Every entry of the resend index.
    func readResends() throws -> [(hash: UInt64, seq: UInt64)] {
        guard let data = try fileSystem.contents(of: resendsPath) else { return [] }
        return data.withUnsafeBytes { buffer in
            stride(from: 0, to: buffer.count - 15, by: 16).map { offset in
                (UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                 UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
            }
        }
    }

    /// The log offset just past record `seq` (0 for none).
    private func endOfRecord(_ seq: UInt64) throws -> UInt64 {
        guard seq > 0 else { return 0 }
        let entry = try fileSystem.read(indexPath, offset: (seq - 1) * 8, count: 8)
        guard entry.count == 8 else { throw ArchiveError.missingIndexEntry(seq) }
        let offset = entry.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        let header = try fileSystem.read(logPath, offset: offset, count: RecordFraming.headerSize)
        guard header.count == RecordFraming.headerSize else { throw ArchiveError.missingIndexEntry(seq) }
        let length = header.withUnsafeBytes { UInt64(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        return offset + UInt64(RecordFraming.headerSize) + length
    }

    enum ArchiveError: Error {
        case missingIndexEntry(UInt64)
    }

    /// Replaces `meta.json` atomically and durably (temp file, sync, rename, directory sync).
    func write(_ meta: Meta) throws {
        try fileSystem.makeDirectory(directory)
        try fileSystem.replace(metaPath, with: Array(try JSONEncoder().encode(meta)))
    }

    /// Archived messages `range` (all at or below the last snapshot), oldest first.
    func read(_ range: ClosedRange<UInt64>) throws -> [StoredMessage] {
        guard range.lowerBound >= 1 else { return [] }
        let offsets = try fileSystem.read(indexPath, offset: (range.lowerBound - 1) * 8, count: (range.count + 1) * 8)
        let count = offsets.count / 8
        guard count > 0 else { return [] }
        let start = offsets.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        let end: UInt64
        if count > range.count {
            end = offsets.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: range.count * 8, as: UInt64.self)) }
        } else {
            end = try fileSystem.size(of: logPath) ?? start
        }
        let bytes = try fileSystem.read(logPath, offset: start, count: Int(end - min(end, start)))
        return RecordFraming.records(in: Data(bytes)).records.prefix(range.count).compactMap { StoredMessage(eventBytes: $0.payload) }
    }
}
