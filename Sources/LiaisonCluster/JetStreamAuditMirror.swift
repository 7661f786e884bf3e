import Foundation
import LiaisonCore
import Logging

/// The audit trail kept in a JetStream log (stream `LIAISON_AUDIT`), written by the active node only and
/// fenced like the journal: the node that takes over starts its `audit.log` from the log's records and
/// continues the same hash chain, so the trail (and the interaction record built from it) is one, whichever
/// node wrote each record.
public final class JetStreamAuditMirror: AuditMirror, @unchecked Sendable {
    /// Most bytes per log record (NATS refuses messages over 1 MiB by default); batches split at lines.
    static let recordBytes = 512 * 1024

    private let log: JetStreamLog
    private let fenced: @Sendable (String) -> Void
    private let logger = Logger(label: "liaison.audit")
    // On the audit writer's queue only.
    private var last: UInt64
    /// Records not kept yet, oldest first.
    private var queued: [[UInt8]] = []

    /// Replaces the trail at `path` with the log's records (keeping what was there as
    /// `audit-superseded-TIME.log` beside it, never deleted) and returns the mirror that continues it.
    public static func start(_ log: JetStreamLog, trail path: String, fenced: @escaping @Sendable (String) -> Void)
        throws -> JetStreamAuditMirror
    {
        let last = try log.lastSequence()
        // Written beside the trail as the stream is read, a megabyte at a time, then moved into its place.
        let rebuilt = path + ".rebuilding"
        FileManager.default.createFile(atPath: rebuilt, contents: nil)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: rebuilt))
        defer { try? file.close() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.writeChunk)
        var failure: (any Error)?
        try log.forEach(through: last) { record in
            buffer.append(contentsOf: record.bytes)
            guard buffer.count >= Self.writeChunk, failure == nil else { return }
            do { try file.write(contentsOf: buffer) } catch { failure = error }
            buffer.removeAll(keepingCapacity: true)
        }
        try failure.map { throw $0 }
        try file.write(contentsOf: buffer)
        try file.synchronize()
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            if (try? manager.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 > 0 {
                let stamp = Int(Date().timeIntervalSince1970)
                let kept = URL(fileURLWithPath: path).deletingLastPathComponent()
                    .appendingPathComponent("audit-superseded-\(stamp).log").path
                try manager.moveItem(atPath: path, toPath: kept)
            } else {
                try manager.removeItem(atPath: path)
            }
        }
        try manager.moveItem(atPath: rebuilt, toPath: path)
        return JetStreamAuditMirror(log: log, last: last, fenced: fenced)
    }

    /// Bytes of the rebuilt trail written at a time.
    private static let writeChunk = 1 << 20

    private init(log: JetStreamLog, last: UInt64, fenced: @escaping @Sendable (String) -> Void) {
        self.log = log
        self.last = last
        self.fenced = fenced
    }

    public func keep(_ lines: [UInt8]) -> Bool {
        queued += Self.split(lines)
        guard !queued.isEmpty else { return true }
        do {
            try log.append(queued, after: last)
            last += UInt64(queued.count)
            queued = []
            return true
        } catch {
            // Where the log ends says which were kept (records before a refused one may be).
            guard let end = try? log.lastSequence() else {
                logger.warning("the audit trail cannot reach the cluster now; will retry: \(error)")
                return false
            }
            guard end >= last, end <= last + UInt64(queued.count) else {
                fenced("the audit log ends at \(end), not at \(last): another node wrote to it")
                return false
            }
            queued.removeFirst(Int(end - last))
            last = end
            return queued.isEmpty
        }
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
