import Foundation
import Logging
import Metrics

/// The write-ahead journal: every accepted change is appended here and made durable before it is
/// acknowledged. A single writer thread takes whatever has queued up, writes it with one `write`, syncs
/// it once (group commit), then runs the waiting completions in order.
///
/// Segments (`journal/NNN.log`) are rotated at each snapshot; a segment older than every snapshot is
/// removed. On start-up, every remaining segment is replayed in order.
public final class Journal: @unchecked Sendable {
    /// A record to append: bytes already encoded elsewhere (shared with the wire), or fresh bytes.
    public enum Payload: Sendable {
        case frame(OutboundFrame)
        case bytes([UInt8])
    }

    private struct Entry {
        let payload: Payload?
        let completion: (@Sendable () -> Void)?
    }

    public let directory: URL
    public let mode: FsyncMode
    private let logger = Logger(label: "liaison.journal")
    private let fsyncs = Counter(label: "liaison_journal_fsyncs_total")
    private let batchRecords = Recorder(label: "liaison_journal_batch_records")

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var rotationRequested = false
    private var stopping = false
    private var segment: UInt64
    private var writerFinished = false

    // Writer thread only.
    private var file: AppendOnlyFile

    /// Opens a new segment after `lastSegment` and starts the writer.
    init(directory: URL, mode: FsyncMode, lastSegment: UInt64) throws {
        self.directory = directory
        self.mode = mode
        segment = lastSegment + 1
        file = try AppendOnlyFile(url: Self.url(of: segment, in: directory))
        let thread = Thread { [self] in writerLoop() }
        thread.name = "journal-writer"
        thread.start()
    }

    /// Queues `payload`; `completion` runs on the writer thread once it is durable (per `mode`).
    public func append(_ payload: Payload, completion: (@Sendable () -> Void)? = nil) {
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
    /// Every record appended before this call lies in an earlier segment.
    public func rotate() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        let target = segment + 1
        rotationRequested = true
        condition.signal()
        while segment < target && !writerFinished { condition.wait() }
        return segment
    }

    /// Deletes the segments numbered below `segment` (their records are all in snapshots).
    public func removeSegments(before segment: UInt64) {
        for (number, url) in Self.segments(in: directory) where number < segment {
            try? FileManager.default.removeItem(at: url)
        }
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
            while pending.isEmpty && !rotationRequested && !stopping { condition.wait() }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            let rotate = rotationRequested
            let stop = stopping && batch.isEmpty
            condition.unlock()

            if !batch.isEmpty { write(batch, buffer: &buffer) }
            if rotate { startNextSegment() }
            if stop { break }
        }
        condition.lock()
        writerFinished = true
        condition.broadcast()
        condition.unlock()
    }

    private func write(_ batch: [Entry], buffer: inout [UInt8]) {
        do {
            if mode == .always {
                for entry in batch {
                    if let payload = entry.payload {
                        buffer.removeAll(keepingCapacity: true)
                        frame(payload, into: &buffer)
                        try file.append(buffer)
                        try file.sync()
                        fsyncs.increment()
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
                if mode == .batch {
                    try file.sync()
                    fsyncs.increment()
                }
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

    private func frame(_ payload: Payload, into buffer: inout [UInt8]) {
        switch payload {
        case .frame(let frame):
            RecordFraming.append(UnsafeRawBufferPointer(start: frame.payloadStart, count: frame.count), to: &buffer)
        case .bytes(let bytes):
            RecordFraming.append(bytes, to: &buffer)
        }
    }

    private func startNextSegment() {
        do {
            try file.sync()
            let next = try AppendOnlyFile(url: Self.url(of: segment + 1, in: directory))
            file = next
        } catch {
            logger.critical("journal rotation failed, stopping: \(error)")
            fatalError("journal rotation failed: \(error)")
        }
        condition.lock()
        segment += 1
        rotationRequested = false
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Files

    static func url(of segment: UInt64, in directory: URL) -> URL {
        directory.appendingPathComponent(String(format: "%020llu.log", segment))
    }

    /// The segment files in `directory`, oldest first.
    static func segments(in directory: URL) -> [(number: UInt64, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (UInt64, URL)? in
            guard name.hasSuffix(".log"), let number = UInt64(name.dropLast(4)) else { return nil }
            return (number, directory.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// Every whole record of every segment, in order. A torn or corrupt tail is cut off the file (it was
    /// never acknowledged) and logged. Returns the records and the last segment's number.
    static func recover(_ directory: URL, logger: Logger) throws -> (records: [Data], lastSegment: UInt64) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var records: [Data] = []
        var last: UInt64 = 0
        for (number, url) in segments(in: directory) {
            last = number
            let data = try Data(contentsOf: url)
            let (found, validLength) = RecordFraming.records(in: data)
            records += found.map(\.payload)
            if validLength < data.count {
                logger.warning("journal \(url.lastPathComponent): cut a torn or corrupt tail of \(data.count - validLength) bytes after \(found.count) records")
                let handle = try FileHandle(forWritingTo: url)
                try handle.truncate(atOffset: UInt64(validLength))
                try handle.synchronize()
                try handle.close()
            }
        }
        return (records, last)
    }
}
