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

    let directory: URL
    private var metaURL: URL { directory.appendingPathComponent("meta.json") }
    private var logURL: URL { directory.appendingPathComponent("messages.log") }
    private var indexURL: URL { directory.appendingPathComponent("messages.idx") }
    private var resendsURL: URL { directory.appendingPathComponent("resends.idx") }

    init(roomsDirectory: URL, room: String) {
        directory = roomsDirectory.appendingPathComponent(room, isDirectory: true)
    }

    /// Every room snapshot under `roomsDirectory`.
    static func loadAll(_ roomsDirectory: URL) throws -> [Meta] {
        try FileManager.default.createDirectory(at: roomsDirectory, withIntermediateDirectories: true)
        let decoder = JSONDecoder()
        return try FileManager.default.contentsOfDirectory(atPath: roomsDirectory.path).compactMap { name in
            let url = roomsDirectory.appendingPathComponent(name).appendingPathComponent("meta.json")
            guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
            return try decoder.decode(Meta.self, from: data)
        }
    }

    /// Appends `messages` (which follow `archivedSeq`) to the log and index and syncs both. A tail left
    /// by a crash after an earlier append (beyond `archivedSeq`) is cut first.
    func append(_ messages: [StoredMessage], after archivedSeq: UInt64) throws {
        guard !messages.isEmpty else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let index = try FileHandle.openOrCreate(indexURL)
        let log = try FileHandle.openOrCreate(logURL)
        defer {
            try? index.close()
            try? log.close()
        }
        // Cut whatever a crash left beyond `archivedSeq` in either file, so the log stays contiguous.
        let indexLength = archivedSeq * 8
        let logLength = try Self.endOfRecord(archivedSeq, index: index, log: log)
        if try index.seekToEnd() > indexLength { try index.truncate(atOffset: indexLength) }
        if try log.seekToEnd() > logLength { try log.truncate(atOffset: logLength) }
        var logBytes: [UInt8] = []
        var indexBytes: [UInt8] = []
        for message in messages {
            withUnsafeBytes(of: (logLength + UInt64(logBytes.count)).littleEndian) { indexBytes += $0 }
            RecordFraming.append(UnsafeRawBufferPointer(start: message.frame.payloadStart, count: message.frame.count), to: &logBytes)
        }
        try log.seek(toOffset: logLength)
        try log.write(contentsOf: logBytes)
        try log.synchronize()
        try index.seek(toOffset: indexLength)
        try index.write(contentsOf: indexBytes)
        try index.synchronize()
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
        let file = try AppendOnlyFile(url: resendsURL)
        try file.append(bytes)
        try file.sync()
    }

    /// Every entry of the resend index.
    func readResends() -> [(hash: UInt64, seq: UInt64)] {
        guard let data = FileManager.default.contents(atPath: resendsURL.path) else { return [] }
        return data.withUnsafeBytes { buffer in
            stride(from: 0, to: buffer.count - 15, by: 16).map { offset in
                (UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                 UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
            }
        }
    }

    /// The log offset just past record `seq` (0 for none).
    private static func endOfRecord(_ seq: UInt64, index: FileHandle, log: FileHandle) throws -> UInt64 {
        guard seq > 0 else { return 0 }
        try index.seek(toOffset: (seq - 1) * 8)
        guard let entry = try index.read(upToCount: 8), entry.count == 8 else { throw ArchiveError.missingIndexEntry(seq) }
        let offset = entry.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        try log.seek(toOffset: offset)
        guard let header = try log.read(upToCount: RecordFraming.headerSize), header.count == RecordFraming.headerSize else {
            throw ArchiveError.missingIndexEntry(seq)
        }
        let length = header.withUnsafeBytes { UInt64(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        return offset + UInt64(RecordFraming.headerSize) + length
    }

    enum ArchiveError: Error {
        case missingIndexEntry(UInt64)
    }

    /// Replaces `meta.json` atomically (temp file, sync, rename).
    func write(_ meta: Meta) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent("meta.json.tmp")
        let data = try JSONEncoder().encode(meta)
        _ = FileManager.default.createFile(atPath: temporary.path, contents: nil)
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, metaURL.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// Archived messages `range` (all at or below the last snapshot), oldest first.
    func read(_ range: ClosedRange<UInt64>) throws -> [StoredMessage] {
        guard range.lowerBound >= 1 else { return [] }
        let index = try FileHandle(forReadingFrom: indexURL)
        let log = try FileHandle(forReadingFrom: logURL)
        defer {
            try? index.close()
            try? log.close()
        }
        try index.seek(toOffset: (range.lowerBound - 1) * 8)
        let offsets = (try index.read(upToCount: (range.count + 1) * 8)) ?? Data()
        let count = offsets.count / 8
        guard count > 0 else { return [] }
        let start = offsets.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        try log.seek(toOffset: start)
        let bytes: Data
        if count > range.count {
            let end = offsets.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: range.count * 8, as: UInt64.self)) }
            bytes = try log.read(upToCount: Int(end - start)) ?? Data()
        } else {
            bytes = try log.readToEnd() ?? Data()
        }
        return RecordFraming.records(in: bytes).records.prefix(range.count).compactMap { StoredMessage(eventBytes: $0.payload) }
    }
}

extension FileHandle {
    static func openOrCreate(_ url: URL) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        return try FileHandle(forUpdating: url)
    }
}
