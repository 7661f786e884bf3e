import Dispatch
import Foundation
import Logging
import Metrics
import LiaisonSync

/// The audit trail: an append-only, hash-chained file. `record` never blocks: events are queued and a
/// background writer encodes, chains, appends and syncs them in batches.
///
/// A batch that cannot be written is kept, the file cut back to its last whole record, and the batch
/// written again before anything newer, so the chain on disk never skips a record it has hashed.
public final class AuditLog: Sendable {
    public let path: String
    private let fileSystem: any FileSystem
    private let file: any AppendableFile
    private let mirror: (any AuditMirror)?
    private let pending = Locked<[(AuditEvent, Millis)]>([])
    private let queue = DispatchQueue(label: "liaison.audit")
    private let logger = Logger(label: "liaison.audit")
    /// Records per write (one append and one sync each).
    private let batchRecords = Recorder(label: "liaison_audit_batch_records")

    /// The writer's state, touched only on `queue`.
    private struct Writer {
        var seq: UInt64
        var prev: String
        /// The file's length up to its last whole, synced record.
        var committedLength: UInt64
        /// Chained records not yet written (after a failed write).
        var unwritten: [UInt8] = []
        /// Whether the mirror holds records it has not kept yet, with a retry scheduled.
        var mirrorBehind = false
    }

    private let writer: Locked<Writer>

    /// Opens `path`, continuing the chain from its last complete record. A torn last line is cut. With a
    /// `mirror`, every record written is also kept there, in order.
    public init(path: String, fileSystem: any FileSystem, mirror: (any AuditMirror)? = nil) throws {
        self.path = path
        self.fileSystem = fileSystem
        self.mirror = mirror
        let tail = try Self.recoverTail(path, fileSystem: fileSystem)
        writer = Locked(Writer(seq: tail.seq, prev: tail.prev, committedLength: try fileSystem.size(of: path) ?? 0))
        file = try fileSystem.openDurably(path)
    }

    /// Queues `event` for the trail.
    public func record(_ event: AuditEvent) {
        let now = WallClock.now()
        let wasEmpty = pending.withLock { pending in
            pending.append((event, now))
            return pending.count == 1
        }
        if wasEmpty { queue.async { self.writePending() } }
    }

    /// Waits until everything recorded so far is written and synced.
    public func flush() {
        queue.sync { self.writePending() }
    }

    /// The latest `limit` records of `tenant`, oldest first, as their stored JSON lines (hashes included).
    /// Reads at most the last `window` bytes of the file, on the writer's queue, after what is pending.
    public func recent(tenant: String, limit: Int, window: UInt64 = 8 << 20) async -> [[UInt8]] {
        await withCheckedContinuation { continuation in
            queue.async {
                self.writePending()
                continuation.resume(returning: self.readRecent(tenant: tenant, limit: limit, window: window))
            }
        }
    }

    private func readRecent(tenant: String, limit: Int, window: UInt64) -> [[UInt8]] {
        guard let size = try? fileSystem.size(of: path),
              let tail = try? fileSystem.read(path, offset: size - min(size, window), count: Int(min(size, window)))
        else { return [] }
        let marker = Array(#""tenant":"#.utf8) + Array((try? JSONEncoder().encode(tenant)) ?? Data())
        var found: [[UInt8]] = []
        for line in tail.split(separator: UInt8(ascii: "\n")).reversed() where found.count < limit {
            let bytes = Array(line)
            guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}"),
                  bytes.firstRange(of: marker) != nil else { continue }
            found.append(bytes)
        }
        return found.reversed()
    }

    private func writePending() {
        let batch = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        writer.withLock { writer in
            guard !batch.isEmpty || !writer.unwritten.isEmpty else { return }
            if !batch.isEmpty { batchRecords.record(batch.count) }
            var bytes = writer.unwritten
            for (event, ts) in batch {
                let record = AuditRecord(
                    seq: writer.seq + 1, ts: ts, action: event.action, tenant: event.tenant, actor: event.actor,
                    device: event.device, outcome: event.refused == nil ? "ok" : "refused",
                    code: event.refused?.rawValue, detail: event.detail.isEmpty ? nil : event.detail,
                    prev: writer.prev)
                let (line, hash) = AuditChain.line(for: record)
                bytes += line
                writer.seq += 1
                writer.prev = hash
            }
            do {
                try file.append(bytes)
                try file.sync()
                writer.committedLength += UInt64(bytes.count)
                writer.unwritten = []
                if let mirror, !mirror.keep(bytes), !writer.mirrorBehind {
                    writer.mirrorBehind = true
                    retryMirror(mirror)
                }
            } catch {
                // Keep the batch for the next write, and cut any part of it that reached the file.
                logger.critical("audit trail write failed, will retry: \(error)")
                writer.unwritten = bytes
                try? fileSystem.truncate(path, to: writer.committedLength)
                queue.asyncAfter(deadline: .now() + 1) { self.writePending() }
            }
        }
    }

    /// Offers the mirror what it has not kept again in a second, until it has (on the writer's queue). One
    /// retry at a time, however many batches are written meanwhile.
    private func retryMirror(_ mirror: any AuditMirror) {
        queue.asyncAfter(deadline: .now() + 1) {
            self.writer.withLock { writer in
                if mirror.keep([]) { writer.mirrorBehind = false } else { self.retryMirror(mirror) }
            }
        }
    }

    /// The last record's seq and hash; cuts a torn last line.
    private static func recoverTail(_ path: String, fileSystem: any FileSystem) throws -> (seq: UInt64, prev: String) {
        guard let size = try fileSystem.size(of: path) else { return (0, AuditRecord.genesis) }
        let window = min(size, 1 << 20)
        let tail = try fileSystem.read(path, offset: size - window, count: Int(window))
        var lines = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if let last = lines.last, !last.isEmpty {
            // A partial record from a crash mid-write: cut it so the chain continues from a whole one.
            try fileSystem.cut(path, to: size - UInt64(last.count))
            Logger(label: "liaison.audit").warning("cut a torn last audit record of \(last.count) bytes")
        }
        lines.removeLast()
        guard let line = lines.last(where: { !$0.isEmpty }) else { return (0, AuditRecord.genesis) }
        guard let parsed = AuditChain.parse(Data(line), decoder: JSONDecoder()) else {
            throw AuditError.unreadableTail(path)
        }
        return (parsed.record.seq, parsed.stated)
    }
}

public enum AuditError: Error, CustomStringConvertible {
    case unreadableTail(String)

    public var description: String {
        switch self {
        case .unreadableTail(let path):
            "the last record of \(path) cannot be read; run `liaison audit verify` on it"
        }
    }
}
