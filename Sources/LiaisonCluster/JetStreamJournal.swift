import Foundation
import LiaisonCore
import Logging
import Metrics

/// The journal of the active node kept in a JetStream log: a writer thread takes whatever has queued up,
/// appends it in one pipelined, fenced batch and, once JetStream has acknowledged every record, runs the
/// waiting completions in order (group commit, as the local journal does with fsync).
///
/// Fencing: each batch must follow the last record this node knows of. If an append fails, the writer asks
/// the log where it ends (retrying while the bus is away; nothing is acknowledged meanwhile): records of the
/// batch it already holds are kept, the rest are sent again; a log that ends anywhere else was written by
/// another node, and `fenced` runs: this node must stop.
public final class JetStreamJournal: JournalWriter, @unchecked Sendable {
    private struct Entry {
        let record: Journal.Payload?
        let completion: (@Sendable () -> Void)?
    }

    private let log: JetStreamLog
    private let fenced: @Sendable (String) -> Void
    private let logger = Logger(label: "liaison.journal")
    private let batchRecords = Recorder(label: "liaison_cluster_journal_batch_records")
    private let appendTime = Timer(label: "liaison_cluster_journal_append_seconds")

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var stopping = false
    private var finished = false

    // Writer thread only.
    private var last: UInt64

    /// Reads every record of `log` and starts a writer appending after them; `fenced` runs (on the writer
    /// thread, once) if another node wrote to the log.
    public static func open(_ log: JetStreamLog, fenced: @escaping @Sendable (String) -> Void) throws -> ExternalJournal {
        let last = try log.lastSequence()
        let records = try log.readAll(through: last)
        let journal = JetStreamJournal(log: log, last: last, fenced: fenced)
        return ExternalJournal(writer: journal, records: records)
    }

    private init(log: JetStreamLog, last: UInt64, fenced: @escaping @Sendable (String) -> Void) {
        self.log = log
        self.last = last
        self.fenced = fenced
        let thread = Thread { [self] in writerLoop() }
        thread.name = "journal-jetstream"
        thread.start()
    }

    public func append(_ payload: Journal.Payload, completion: (@Sendable () -> Void)?) {
        enqueue(Entry(record: payload, completion: completion))
    }

    public func afterPendingWrites(_ completion: @escaping @Sendable () -> Void) {
        enqueue(Entry(record: nil, completion: completion))
    }

    public var isAvailable: Bool { log.isConnected }

    /// The log keeps every record: a new active node rebuilds its state from all of them.
    public func rotate() async -> UInt64 { 0 }

    public func removeSegments(before segment: UInt64) throws {}

    public func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func enqueue(_ entry: Entry) {
        condition.lock()
        pending.append(entry)
        if pending.count == 1 { condition.signal() }
        condition.unlock()
    }

    private func writerLoop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            let stop = stopping && batch.isEmpty
            condition.unlock()
            if stop { break }
            let records = batch.compactMap(\.record)
            if !records.isEmpty {
                guard write(records) else { break }
                batchRecords.record(records.count)
            }
            for entry in batch { entry.completion?() }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Appends `records` after `last`; false once fenced.
    private func write(_ records: [Journal.Payload]) -> Bool {
        var remaining = records[...]
        let started = ContinuousClock.now
        while !remaining.isEmpty {
            do {
                try log.append(remaining, after: last)
                last += UInt64(remaining.count)
                remaining = []
            } catch {
                logger.warning("appending \(remaining.count) records after \(last) failed: \(error)")
                guard let end = logEnd() else { return false }
                guard end >= last, end <= last + UInt64(remaining.count) else {
                    fenced("the journal ends at \(end), not at \(last) as this node wrote it: another node wrote to it")
                    return false
                }
                remaining = remaining.dropFirst(Int(end - last))
                last = end
            }
        }
        appendTime.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        return true
    }

    /// Where the log ends, asked until the bus answers (nil if the journal is closing meanwhile).
    private func logEnd() -> UInt64? {
        while true {
            if let end = try? log.lastSequence() { return end }
            condition.lock()
            let stop = stopping
            condition.unlock()
            if stop { return nil }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}
