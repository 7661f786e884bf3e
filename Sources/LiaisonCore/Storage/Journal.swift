import Foundation
import Logging
import Metrics

/// The write-ahead journal: every accepted change is appended here and made durable before it is
/// acknowledged. A single writer thread takes whatever has queued up, writes it with one `write`, syncs
/// it once (group commit), then runs the waiting completions in order.
///
/// Segments (`journal/NNN.log`) are rotated at each snapshot; a segment older than every snapshot is
/// removed. On start-up, every remaining segment is replayed in order.
public final class Journal: JournalWriter, @unchecked Sendable {
    /// A record to append: bytes already encoded elsewhere (shared with the wire), or fresh bytes.
    public enum Payload: Sendable {
        case frame(OutboundFrame)
        case bytes([UInt8])
    }

    private struct Entry {
        let payload: Payload?
        let completion: (@Sendable () -> Void)?
    }

    public let directory: String
    public let mode: FsyncMode
    private let fileSystem: any FileSystem
    private let logger = Logger(label: "liaison.journal")
    private let fsyncs = Counter(label: "liaison_journal_fsyncs_total")
    /// Records per group commit, and the time each commit's sync takes.
    private let batchRecords = Recorder(label: "liaison_journal_batch_records")
    private let fsyncTime = Timer(label: "liaison_journal_fsync_seconds")

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var rotationWaiters: [CheckedContinuation<UInt64, Never>] = []
    private var stopping = false
    private var segment: UInt64
    private var writerFinished = false

    // Writer thread only.
    private var file: any AppendableFile

    /// Opens a new segment after `lastSegment` (its directory entry made durable) and starts the writer.
    init(directory: String, mode: FsyncMode, lastSegment: UInt64, fileSystem: any FileSystem) throws {
        self.directory = directory
        self.mode = mode
        self.fileSystem = fileSystem
        segment = lastSegment + 1
        file = try fileSystem.openDurably(Self.path(of: segment, in: directory))
        let thread = Thread { [self] in writerLoop() }
        thread.name = "journal-writer"
        thread.start()
    }

    /// Queues `payload`; `completion` runs on the writer thread once it is durable (per `mode`). Segments hold
    /// records of every kind: the files of the people directory, pushers and files keep what they cover.
    public func append(_ payload: Payload, kind: JournalRecordKind, completion: (@Sendable () -> Void)?) {
        enqueue(Entry(payload: payload, completion: completion))
    }

    /// Runs `completion` once everything appended before it is durable.
    public func afterPendingWrites(_ completion: @escaping @Sendable () -> Void) {
        enqueue(Entry(payload: nil, completion: completion))
    }

    private func enqueue(_ entry: Entry) {
        condition.lock()
        pending.append(entry)
        if pending.count == 1 { condition.signal() }
        condition.unlock()
    }

    /// Starts a new segment once everything queued so far is written; returns the new segment's number.
    /// Every record appended before this call lies in an earlier segment. Suspends without blocking a thread.
    public func rotate() async -> UInt64 {
        await withCheckedContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !writerFinished else {
                continuation.resume(returning: segment)
                return
            }
            rotationWaiters.append(continuation)
            condition.signal()
        }
    }

    /// Deletes the segments numbered below `segment` (their records are all in snapshots) and makes the
    /// deletion durable, so no segment a later snapshot does not cover can come back after a crash.
    public func removeSegments(before segment: UInt64) throws {
        let covered = try Self.segments(in: directory, fileSystem: fileSystem).filter { $0.number < segment }
        try fileSystem.remove(covered.map(\.path), in: directory)
    }

    /// Writes and syncs what is queued, then stops the writer.
    public func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !writerFinished { condition.wait() }
        condition.unlock()
    }

    private func writerLoop() {
        var buffer: [UInt8] = []
        while true {
            condition.lock()
            while pending.isEmpty && rotationWaiters.isEmpty && !stopping { condition.wait() }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            let rotate = !rotationWaiters.isEmpty
            let stop = stopping && batch.isEmpty
            condition.unlock()

            if !batch.isEmpty { write(batch, buffer: &buffer) }
            if rotate { startNextSegment() }
            if stop { break }
        }
        condition.lock()
        writerFinished = true
        let waiters = rotationWaiters
        rotationWaiters = []
        condition.broadcast()
        condition.unlock()
        for waiter in waiters { waiter.resume(returning: segment) }
    }

    private func write(_ batch: [Entry], buffer: inout [UInt8]) {
        do {
            if mode == .always {
                for entry in batch {
                    if let payload = entry.payload {
                        buffer.removeAll(keepingCapacity: true)
                        frame(payload, into: &buffer)
                        try file.append(buffer)
                        try sync()
                    }
                    entry.completion?()
                }
                return
            }
            buffer.removeAll(keepingCapacity: true)
            var records = 0
            for entry in batch {
                if let payload = entry.payload {
                    frame(payload, into: &buffer)
                    records += 1
                }
            }
            if records > 0 {
                try file.append(buffer)
                if mode == .batch { try sync() }
                batchRecords.record(records)
            }
        } catch {
            // Without a durable journal nothing may be acknowledged: stop rather than lie.
            logger.critical("journal write failed, stopping: \(error)")
            fatalError("journal write failed: \(error)")
        }
        for entry in batch { entry.completion?() }
        if buffer.capacity > 1 << 22 { buffer = [] }
    }

    private func sync() throws {
        let started = ContinuousClock.now
        try file.sync()
        fsyncTime.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        fsyncs.increment()
    }

    private func frame(_ payload: Payload, into buffer: inout [UInt8]) {
        switch payload {
        case .frame(let frame):
            RecordFraming.append(UnsafeRawBufferPointer(start: frame.payloadStart, count: frame.count), to: &buffer)
        case .bytes(let bytes):
            RecordFraming.append(bytes, to: &buffer)
        }
    }

    /// Syncs the current segment, then opens the next one and makes its directory entry durable before
    /// any record is written to it.
    private func startNextSegment() {
        let next: any AppendableFile
        do {
            try file.sync()
            next = try fileSystem.openDurably(Self.path(of: segment + 1, in: directory))
        } catch {
            logger.critical("journal rotation failed, stopping: \(error)")
            fatalError("journal rotation failed: \(error)")
        }
        file = next
        condition.lock()
        segment += 1
        let waiters = rotationWaiters
        rotationWaiters = []
        condition.unlock()
        for waiter in waiters { waiter.resume(returning: segment) }
    }

    // MARK: Files

    static func path(of segment: UInt64, in directory: String) -> String {
        Path.join(directory, String(format: "%020llu.log", segment))
    }

    /// The segment files in `directory`, oldest first.
    static func segments(in directory: String, fileSystem: any FileSystem) throws -> [(number: UInt64, path: String)] {
        try fileSystem.list(directory).compactMap { name -> (UInt64, String)? in
            guard name.hasSuffix(".log"), let number = UInt64(name.dropLast(4)) else { return nil }
            return (number, Path.join(directory, name))
        }.sorted { $0.0 < $1.0 }
    }

    /// Every whole record of every segment, in order, and the last segment's number. A torn or corrupt
    /// tail (never acknowledged) is logged and, with `repair`, cut off its file.
    static func recover(_ directory: String, fileSystem: any FileSystem, repair: Bool = true, logger: Logger)
        throws -> (records: [Data], lastSegment: UInt64)
    {
        if repair { try fileSystem.makeDirectory(directory) }
        var records: [Data] = []
        var last: UInt64 = 0
        for (number, path) in try segments(in: directory, fileSystem: fileSystem) {
            last = number
            let data = Data(try fileSystem.contents(of: path) ?? [])
            let (found, validLength) = RecordFraming.records(in: data)
            records += found.map(\.payload)
            guard validLength < data.count else { continue }
            logger.warning("journal \(path): a torn or corrupt tail of \(data.count - validLength) bytes after \(found.count) records\(repair ? " was cut" : "")")
            if repair {
                try fileSystem.cut(path, to: UInt64(validLength))
            }
        }
        return (records, last)
    }
}
