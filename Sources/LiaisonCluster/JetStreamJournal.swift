import Foundation
import LiaisonCore
import Logging
import Metrics

/// The journal of the active node kept in a JetStream log: a writer thread takes whatever has queued up,
/// appends it in one pipelined, fenced batch and, once JetStream has acknowledged every record, runs the
/// waiting completions in order (group commit, as the local journal does with fsync).
///
/// Records go to one of two subjects: those the hub's snapshots cover, which a checkpoint lets the log drop,
/// and those it keeps (the people directory, pushers, files).
///
/// Fencing: each batch must follow the last record this node knows of. If an append fails, the writer asks
/// the log where it ends (retrying while the bus is away; nothing is acknowledged meanwhile): records of the
/// batch it already holds are kept, the rest are sent again; a log that ends anywhere else, or holds other
/// records there, was written by another node, and `fenced` runs: this node must stop.
public final class JetStreamJournal: JournalWriter, @unchecked Sendable {
    /// What the journal's subjects are.
    public struct Subjects: Sendable {
        public let snapshotted: String
        public let kept: String

        public init(snapshotted: String, kept: String) {
            self.snapshotted = snapshotted
            self.kept = kept
        }
    }

    private struct Record: ContiguousBytes {
        let payload: Journal.Payload
        let kind: JournalRecordKind

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try payload.withUnsafeBytes(body)
        }
    }

    private struct Entry {
        let record: Record?
        let completion: (@Sendable () -> Void)?
    }

    private let log: JetStreamLog
    private let subjects: Subjects
    private let checkpoints: JetStreamCheckpoints
    private let checkpointRecords: Int
    private let fenced: @Sendable (String) -> Void
    private let logger = Logger(label: "liaison.journal")
    private let batchRecords = Recorder(label: "liaison_cluster_journal_batch_records")
    private let appendTime = Timer(label: "liaison_cluster_journal_append_seconds")
    private let checkpointTime = Timer(label: "liaison_cluster_checkpoint_seconds")

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var stopping = false
    private var finished = false
    /// Snapshotted records appended since the last checkpoint.
    private var sinceCheckpoint = 0

    // Writer thread only.
    private var last: UInt64

    /// Makes this node the log's only writer (a record naming it, appended after the log's end: a node still
    /// writing after that end is refused from then on), restores the files of the last checkpoint into the
    /// data directory, and returns a writer appending after the log's end with the records to replay: every
    /// kept one and the snapshotted ones after the checkpoint. `checkpoints` is given the sequence of the record
    /// naming this node. A checkpoint is made at a snapshot once `checkpointRecords` snapshotted records
    /// were appended since the last one; `fenced` runs (once) if another node wrote to the log.
    public static func open(_ log: JetStreamLog, subjects: Subjects, node: String, checkpointRecords: Int,
                            checkpoints: (UInt64) throws -> JetStreamCheckpoints,
                            fenced: @escaping @Sendable (String) -> Void) throws -> ExternalJournal {
        let last = try takeOver(log, subjects: subjects, node: node)
        var kept: [Data] = []
        var snapshotted: [(sequence: UInt64, record: Data)] = []
        var checkpoint: CheckpointRecord?
        let decoder = JSONDecoder()
        try log.forEach(through: last) { record in
            if record.isOn(subjects.kept) {
                kept.append(Data(record.bytes))
                return
            }
            let data = Data(record.bytes)
            if data.starts(with: CheckpointRecord.start), let found = try? decoder.decode(CheckpointRecord.self, from: data) {
                checkpoint = found
            }
            snapshotted.append((record.sequence, data))
        }
        let store = try checkpoints(last)
        var through: UInt64 = 0
        if let checkpoint {
            let started = ContinuousClock.now
            let restored = try store.restore(checkpoint.manifest)
            through = restored.through
            Logger(label: "liaison.journal").info("""
                restored checkpoint \(checkpoint.manifest) (the journal through \(through)): \(restored.files) files, \
                \(restored.bytes) bytes in \(ContinuousClock.now - started)
                """)
        }
        let replayed = snapshotted.filter { $0.sequence > through }.map(\.record)
        Gauge(label: "liaison_cluster_takeover_records").record(kept.count + replayed.count)
        let journal = JetStreamJournal(log: log, subjects: subjects, last: last, checkpoints: store,
                                       checkpointRecords: checkpointRecords, sinceCheckpoint: replayed.count, fenced: fenced)
        return ExternalJournal(writer: journal, records: kept + replayed)
    }

    /// Appends the record naming `node` after the log's end (read again if another node appended meanwhile);
    /// returns its sequence.
    private static func takeOver(_ log: JetStreamLog, subjects: Subjects, node: String) throws -> UInt64 {
        let record = try JSONEncoder().encode(ActiveRecord(node: node, at: WallClock.now()))
        var attempt = 0
        while true {
            let end = try log.lastSequence()
            do {
                try log.append([record], after: end, subject: { _ in subjects.snapshotted })
                return end + 1
            } catch {
                attempt += 1
                guard attempt < 10 else { throw error }
            }
        }
    }

    private init(log: JetStreamLog, subjects: Subjects, last: UInt64, checkpoints: JetStreamCheckpoints,
                 checkpointRecords: Int, sinceCheckpoint: Int, fenced: @escaping @Sendable (String) -> Void) {
        self.log = log
        self.sinceCheckpoint = sinceCheckpoint
        self.subjects = subjects
        self.last = last
        self.checkpoints = checkpoints
        self.checkpointRecords = checkpointRecords
        self.fenced = fenced
        let thread = Thread { [self] in writerLoop() }
        thread.name = "journal-jetstream"
        thread.start()
    }

    public func append(_ payload: Journal.Payload, kind: JournalRecordKind, completion: (@Sendable () -> Void)?) {
        enqueue(Entry(record: Record(payload: payload, kind: kind), completion: completion))
    }

    public func afterPendingWrites(_ completion: @escaping @Sendable () -> Void) {
        enqueue(Entry(record: nil, completion: completion))
    }

    public var isAvailable: Bool { log.isConnected }

    /// The sequence after the last record appended so far, once every one is in the log.
    public func rotate() async -> UInt64 {
        await withCheckedContinuation { continuation in
            // Completions run on the writer thread, the owner of `last`.
            afterPendingWrites { [self] in continuation.resume(returning: last + 1) }
        }
    }

    /// Checkpoints the snapshot files, which cover every record before `segment`, once enough records were
    /// appended since the last checkpoint or messages were erased: uploads them, appends a record naming the checkpoint, then drops
    /// the snapshotted records it covers. Runs on the hub's storage queue, while no snapshot file changes.
    public func removeSegments(before segment: UInt64) throws {
        condition.lock()
        let enough = sinceCheckpoint >= checkpointRecords
        condition.unlock()
        guard enough || checkpoints.erasurePending, segment > 1 else { return }
        let started = ContinuousClock.now
        let through = segment - 1
        let prepared = try checkpoints.prepare(through: through)
        let named = DispatchSemaphore(value: 0)
        let record = CheckpointRecord(manifest: prepared.manifest, through: through).encoded
        condition.lock()
        sinceCheckpoint = 0
        condition.unlock()
        append(.bytes(Array(record)), kind: .snapshotted) { named.signal() }
        named.wait()
        try checkpoints.commit(prepared)
        try log.purge(subjects.snapshotted, below: through + 1)
        checkpointTime.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        logger.info("checkpoint \(prepared.manifest) covers the journal through \(through): \(prepared.uploaded) bytes uploaded in \(ContinuousClock.now - started)")
    }

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
                let snapshotted = records.count { $0.kind == .snapshotted }
                condition.lock()
                sinceCheckpoint += snapshotted
                condition.unlock()
            }
            for entry in batch { entry.completion?() }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Appends `records` after `last`; false once fenced.
    private func write(_ records: [Record]) -> Bool {
        var remaining = records[...]
        let started = ContinuousClock.now
        while !remaining.isEmpty {
            do {
                try log.append(remaining, after: last) { [subjects] in $0.kind == .kept ? subjects.kept : subjects.snapshotted }
                last += UInt64(remaining.count)
                remaining = []
            } catch {
                logger.warning("appending \(remaining.count) records after \(last) failed: \(error)")
                guard let end = logEnd() else { return false }
                guard end >= last, end <= last + UInt64(remaining.count) else {
                    fenced("the journal ends at \(end), not at \(last) as this node wrote it: another node wrote to it")
                    return false
                }
                // Stored in part: what the log holds after `last` must be this batch's first records.
                for (offset, record) in remaining.prefix(Int(end - last)).enumerated() {
                    let sequence = last + 1 + UInt64(offset)
                    guard let stored = storedRecord(at: sequence) else { return false }
                    guard record.withUnsafeBytes({ stored.elementsEqual($0) }) else {
                        fenced("the journal holds another node's record at \(sequence), where this node appended")
                        return false
                    }
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
        untilAnswered { try log.lastSequence() }
    }

    /// The record at `sequence` (empty if there is none), asked until the bus answers (nil if the journal
    /// is closing meanwhile).
    private func storedRecord(at sequence: UInt64) -> [UInt8]? {
        untilAnswered { try log.record(at: sequence) ?? [] }
    }

    private func untilAnswered<T>(_ ask: () throws -> T) -> T? {
        while true {
            if let answer = try? ask() { return answer }
            condition.lock()
            let stop = stopping
            condition.unlock()
            if stop { return nil }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}

/// The journal record naming the node that became active: no node wrote before it from then on.
struct ActiveRecord: Codable {
    var type = "cluster.active"
    let node: String
    let at: Millis
}

/// The journal record naming a checkpoint, which holds everything the snapshotted records up to `through`
/// built. Written with its type first (JSONEncoder keeps no order), so a replay finds it by its start.
struct CheckpointRecord: Decodable {
    static let start = Data(#"{"type":"cluster.checkpoint""#.utf8)
    let manifest: String
    let through: UInt64

    /// The record's bytes (a manifest's name needs no escaping: digits, letters and dashes).
    var encoded: Data {
        Self.start + Data(#","manifest":"\#(manifest)","through":\#(through)}"#.utf8)
    }
}
