import Foundation
import LiaisonCore
import Logging

/// The audit trail kept in a JetStream log (stream `LIAISON_AUDIT`), written by the active node only and
/// fenced like the journal: the node that takes over starts its `audit.log` from the log's records and
/// continues the same hash chain, so the trail (and the interaction record built from it) is one, whichever
/// node wrote each record.
///
/// Beside the trail, `audit.log.mirrored` says how far the trail is the log's (its first records and their
/// bytes), kept up to date as records are mirrored: a node that takes over checks it against the log and
/// reads only the records after it, not the whole trail again.
public final class JetStreamAuditMirror: AuditMirror, @unchecked Sendable {
    /// Most bytes per log record (NATS refuses messages over 1 MiB by default); batches split at lines.
    static let recordBytes = 512 * 1024

    private let log: JetStreamLog
    private let fenced: @Sendable (String) -> Void
    private let logger = Logger(label: "liaison.audit")
    private let mark: MirrorMark
    // On the audit writer's queue only.
    private var last: UInt64
    /// The trail's bytes up to the end of record `last`.
    private var mirroredBytes: UInt64
    /// Records not kept yet, oldest first.
    private var queued: [[UInt8]] = []

    /// Makes the trail at `path` the log's records: continued from where it last matched the log, or rebuilt
    /// from them all (what it held beyond the log's is kept as `audit-superseded-TIME.log` beside it, never
    /// deleted), and returns the mirror that continues it.
    public static func start(_ log: JetStreamLog, trail path: String, fenced: @escaping @Sendable (String) -> Void)
        throws -> JetStreamAuditMirror
    {
        let last = try log.lastSequence()
        let mark = MirrorMark(path: path + ".mirrored")
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? nil
        var from = MirrorMark.Position(records: 0, bytes: 0)
        if let known = mark.read(), let size, known.records <= last, known.bytes <= size,
           try matches(log, trail: path, at: known) {
            from = known
        }
        // What the trail holds beyond the records it shares with the log is kept aside.
        if let size, size > from.bytes {
            try keepAside(path, from: from.bytes)
        }
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? file.close() }
        try file.truncate(atOffset: from.bytes)
        try file.seekToEnd()
        var written = from.bytes
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.writeChunk)
        var failure: (any Error)?
        try log.forEach(from: from.records + 1, through: last) { record in
            buffer.append(contentsOf: record.bytes)
            guard buffer.count >= Self.writeChunk, failure == nil else { return }
            do { try file.write(contentsOf: buffer) } catch { failure = error }
            written += UInt64(buffer.count)
            buffer.removeAll(keepingCapacity: true)
        }
        try failure.map { throw $0 }
        try file.write(contentsOf: buffer)
        written += UInt64(buffer.count)
        try file.synchronize()
        mark.write(.init(records: last, bytes: written))
        return JetStreamAuditMirror(log: log, last: last, mirroredBytes: written, mark: mark, fenced: fenced)
    }

    /// Whether the trail's bytes before `position.bytes` end with the log's record `position.records`.
    private static func matches(_ log: JetStreamLog, trail path: String, at position: MirrorMark.Position) throws -> Bool {
        guard position.records > 0 else { return position.bytes == 0 }
        guard let record = try log.record(at: position.records), UInt64(record.count) <= position.bytes else { return false }
        let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? file.close() }
        try file.seek(toOffset: position.bytes - UInt64(record.count))
        return try file.read(upToCount: record.count).map(Array.init) == record
    }

    /// Moves the trail's bytes from `offset` on to `audit-superseded-TIME.log` beside it (the whole file from 0).
    private static func keepAside(_ path: String, from offset: UInt64) throws {
        let stamp = Int(Date().timeIntervalSince1970)
        let kept = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("audit-superseded-\(stamp).log")
        guard offset > 0 else { return try FileManager.default.moveItem(atPath: path, toPath: kept.path) }
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? source.close() }
        FileManager.default.createFile(atPath: kept.path, contents: nil)
        let target = try FileHandle(forWritingTo: kept)
        defer { try? target.close() }
        try target.seekToEnd()
        try source.seek(toOffset: offset)
        while let chunk = try source.read(upToCount: Self.writeChunk), !chunk.isEmpty { try target.write(contentsOf: chunk) }
        try target.synchronize()
    }

    /// Bytes of the rebuilt trail written at a time.
    private static let writeChunk = 1 << 20

    private init(log: JetStreamLog, last: UInt64, mirroredBytes: UInt64, mark: MirrorMark,
                 fenced: @escaping @Sendable (String) -> Void) {
        self.log = log
        self.last = last
        self.mirroredBytes = mirroredBytes
        self.mark = mark
        self.fenced = fenced
    }

    public func keep(_ lines: [UInt8]) -> Bool {
        queued += Self.split(lines)
        guard !queued.isEmpty else { return true }
        do {
            try log.append(queued, after: last)
            kept(queued.count)
            return true
        } catch {
            // Where the log ends says which were kept (records before a refused one may be), if they are ours.
            guard let end = try? log.lastSequence() else {
                logger.warning("the audit trail cannot reach the cluster now; will retry: \(error)")
                return false
            }
            guard end >= last, end <= last + UInt64(queued.count) else {
                fenced("the audit log ends at \(end), not at \(last): another node wrote to it")
                return false
            }
            for sequence in stride(from: last + 1, through: end, by: 1) {
                guard let stored = try? log.record(at: sequence) else { return false }
                guard stored == queued[Int(sequence - last - 1)] else {
                    fenced("the audit log holds another node's record at \(sequence), where this node appended")
                    return false
                }
            }
            kept(Int(end - last))
            return queued.isEmpty
        }
    }

    /// The first `count` queued records are in the log.
    private func kept(_ count: Int) {
        mirroredBytes += queued.prefix(count).reduce(0) { $0 + UInt64($1.count) }
        queued.removeFirst(count)
        last += UInt64(count)
        mark.write(.init(records: last, bytes: mirroredBytes))
    }

    /// `lines` in pieces of at most `recordBytes`, each ending at a line's end.
    static func split(_ lines: [UInt8]) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var current: [UInt8] = []
        for line in lines.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            if !current.isEmpty, current.count + line.count + 1 > recordBytes {
                chunks.append(current)
                current = []
            }
            current += line
            current.append(UInt8(ascii: "\n"))
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}

/// `audit.log.mirrored`: how many of the log's records the trail starts with, and their bytes. Overwritten in
/// place as records are mirrored, never synced: whoever reads it checks it against the log first.
struct MirrorMark: Sendable {
    struct Position: Equatable {
        var records: UInt64
        var bytes: UInt64
    }

    let path: String

    func read() -> Position? {
        guard let data = FileManager.default.contents(atPath: path), data.count == 16 else { return nil }
        return data.withUnsafeBytes { bytes in
            Position(records: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)),
                     bytes: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    func write(_ position: Position) {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: position.records.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: position.bytes.littleEndian) { bytes += $0 }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, 16, 0) }
    }
}
