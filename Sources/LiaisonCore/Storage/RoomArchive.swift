import Foundation

/// A room's files under `rooms/<id>/`: `meta.json` (the snapshot of everything but messages),
/// `messages.log` + `messages.idx` (every archived `msg` event, framed, and each one's offset: an
/// `IndexedLog`), `resends.idx`, and `erased.log` + `erased.idx` (the tombstones of the messages
/// retention erased, seq 1 up, as the erasure only ever takes the oldest). Only the snapshotter writes
/// them; readers stay below the snapshot's `lastSeq`.
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
        /// Under legal hold: retention erases nothing (absent in snapshots older than holds).
        var held: Bool?
        /// Messages up to here are erased and overwritten in `messages.log` (absent: none).
        var erasedThrough: UInt64?
    }

    let directory: String
    let fileSystem: any FileSystem
    private var metaPath: String { Path.join(directory, "meta.json") }
    private var resendsPath: String { Path.join(directory, "resends.idx") }
    let messages: IndexedLog
    let tombstones: IndexedLog

    init(roomsDirectory: String, room: String, fileSystem: any FileSystem) {
        directory = Path.join(roomsDirectory, room)
        self.fileSystem = fileSystem
        messages = IndexedLog(logPath: Path.join(directory, "messages.log"), indexPath: Path.join(directory, "messages.idx"),
                              fileSystem: fileSystem)
        tombstones = IndexedLog(logPath: Path.join(directory, "erased.log"), indexPath: Path.join(directory, "erased.idx"),
                                fileSystem: fileSystem)
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

    /// This room's snapshot, if it has one.
    func loadMeta() throws -> Meta? {
        guard let data = try fileSystem.contents(of: metaPath) else { return nil }
        return try JSONDecoder().decode(Meta.self, from: Data(data))
    }

    /// Appends `messages` (which follow `archivedSeq`) to the log and index and syncs both. A tail left
    /// by a crash after an earlier append (beyond `archivedSeq`) is cut first.
    func append(_ messages: [StoredMessage], after archivedSeq: UInt64) throws {
        guard !messages.isEmpty else { return }
        try fileSystem.makeDirectory(directory)
        try self.messages.append(messages.map(\.frame), after: archivedSeq)
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

    /// Replaces `meta.json` atomically and durably (temp file, sync, rename, directory sync).
    func write(_ meta: Meta) throws {
        try fileSystem.makeDirectory(directory)
        try fileSystem.replace(metaPath, with: Array(try JSONEncoder().encode(meta)))
    }

    /// Archived messages `range` (all at or below the last snapshot), oldest first: tombstones for the
    /// erased ones.
    func read(_ range: ClosedRange<UInt64>) throws -> [StoredMessage] {
        try readEvents(range).compactMap(StoredMessage.init(eventBytes:))
    }

    /// The stored `msg` events of archived messages `range`, oldest first: tombstones for the erased ones.
    /// An erasure that runs meanwhile makes it read again.
    func readEvents(_ range: ClosedRange<UInt64>) throws -> [Data] {
        guard range.lowerBound >= 1 else { return [] }
        var found: [Data] = []
        for _ in 0..<3 {
            let erased = try tombstones.count()
            found = []
            if range.lowerBound <= erased {
                found += try tombstones.read(range.lowerBound...min(range.upperBound, erased))
            }
            guard range.upperBound > erased else { return found }
            let kept = try messages.read(max(range.lowerBound, erased + 1)...range.upperBound)
            // Erased since counted: those records may already be overwritten.
            guard try tombstones.count() == erased else { continue }
            return found + kept
        }
        return found
    }
}
