import Dispatch
import Foundation
import Logging
import Synchronization

/// The audit trail: an append-only, hash-chained file. `record` never blocks: events are queued and a
/// background writer encodes, chains, appends and syncs them in batches.
public final class AuditLog: Sendable {
    public let url: URL
    private let file: AppendOnlyFile
    private let pending = Mutex<[(AuditEvent, Millis)]>([])
    private let queue = DispatchQueue(label: "liaison.audit")
    private let chain: Mutex<(seq: UInt64, prev: String)>
    private let logger = Logger(label: "liaison.audit")

    /// Opens `url`, continuing the chain from its last complete record. A torn last line is cut.
    public init(url: URL) throws {
        self.url = url
        chain = Mutex(try Self.recoverTail(url))
        file = try AppendOnlyFile(url: url)
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
    /// Reads at most the last `window` bytes of the file.
    public func recent(tenant: String, limit: Int, window: UInt64 = 8 << 20) -> [[UInt8]] {
        flush()
        guard let handle = try? FileHandle(forReadingFrom: url) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size - min(size, window))
        let tail = (try? handle.readToEnd()) ?? Data()
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
        guard !batch.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8] = []
        chain.withLock { chain in
            for (event, ts) in batch {
                chain.seq += 1
                let record = AuditRecord(
                    seq: chain.seq, ts: ts, action: event.action, tenant: event.tenant, actor: event.actor,
                    device: event.device, outcome: event.refused == nil ? "ok" : "refused",
                    code: event.refused?.rawValue, detail: event.detail.isEmpty ? nil : event.detail,
                    prev: chain.prev)
                do {
                    let (line, hash) = try AuditChain.line(for: record, encoder: encoder)
                    bytes += line
                    chain.prev = hash
                } catch {
                    logger.error("audit record failed to encode: \(error)")
                    chain.seq -= 1
                }
            }
        }
        do {
            try file.append(bytes)
            try file.sync()
        } catch {
            logger.critical("audit trail write failed: \(error)")
        }
    }

    /// The last record's seq and hash; cuts a torn last line.
    private static func recoverTail(_ url: URL) throws -> (seq: UInt64, prev: String) {
        guard let handle = try? FileHandle(forUpdating: url) else { return (0, AuditRecord.genesis) }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        let window = min(size, 1 << 20)
        try handle.seek(toOffset: size - window)
        let tail = try handle.readToEnd() ?? Data()
        var lines = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if let last = lines.last, !last.isEmpty {
            // A partial record from a crash mid-write: cut it so the chain continues from a whole one.
            try handle.truncate(atOffset: size - UInt64(last.count))
            Logger(label: "liaison.audit").warning("cut a torn last audit record of \(last.count) bytes")
        }
        lines.removeLast()
        guard let line = lines.last(where: { !$0.isEmpty }) else { return (0, AuditRecord.genesis) }
        guard let parsed = AuditChain.parse(line, decoder: JSONDecoder()) else {
            throw AuditError.unreadableTail(url.path)
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
