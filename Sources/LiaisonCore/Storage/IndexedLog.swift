import Foundation

/// An append-only file of framed records (`RecordFraming`) and its index: record `n`'s offset in the log,
/// a little-endian `UInt64` at `(n - 1) * 8`. A room's messages are one, its tombstones another.
///
/// Records are appended after the number a snapshot committed; whatever a crash left beyond it, in either
/// file, is cut first. The log is synced before the index, so a whole index entry always points at a whole
/// record.
struct IndexedLog: Sendable {
    let logPath: String
    let indexPath: String
    let fileSystem: any FileSystem

    /// The records the index holds (a torn last entry does not count).
    func count() throws -> UInt64 {
        (try fileSystem.size(of: indexPath) ?? 0) / 8
    }

    /// Appends `payloads` as records `after + 1 …` and syncs the log, then the index.
    func append(_ payloads: [OutboundFrame], after count: UInt64) throws {
        guard !payloads.isEmpty else { return }
        let index = try fileSystem.openDurably(indexPath)
        let log = try fileSystem.openDurably(logPath)
        let indexLength = count * 8
        let logLength = try end(of: count)
        if try fileSystem.size(of: indexPath) ?? 0 > indexLength { try fileSystem.truncate(indexPath, to: indexLength) }
        if try fileSystem.size(of: logPath) ?? 0 > logLength { try fileSystem.truncate(logPath, to: logLength) }
        var logBytes: [UInt8] = []
        var indexBytes: [UInt8] = []
        for payload in payloads {
            withUnsafeBytes(of: (logLength + UInt64(logBytes.count)).littleEndian) { indexBytes += $0 }
            RecordFraming.append(UnsafeRawBufferPointer(start: payload.payloadStart, count: payload.count), to: &logBytes)
        }
        try log.append(logBytes)
        try log.sync()
        try index.append(indexBytes)
        try index.sync()
    }

    /// The payloads of records `range` that exist, oldest first.
    func read(_ range: ClosedRange<UInt64>) throws -> [Data] {
        guard range.lowerBound >= 1 else { return [] }
        let offsets = try fileSystem.read(indexPath, offset: (range.lowerBound - 1) * 8, count: (range.count + 1) * 8)
        let count = offsets.count / 8
        guard count > 0 else { return [] }
        let start = offsets.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        let end: UInt64
        if count > range.count {
            end = offsets.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: range.count * 8, as: UInt64.self)) }
        } else {
            end = try fileSystem.size(of: logPath) ?? start
        }
        let bytes = try fileSystem.read(logPath, offset: start, count: Int(end - min(end, start)))
        return RecordFraming.records(in: Data(bytes)).records.prefix(range.count).map(\.payload)
    }

    /// Overwrites the payloads of records `range` with spaces, keeping every record's length (so the
    /// index stays right) and a valid CRC, then syncs the log: one write for the whole run.
    func scrub(_ range: ClosedRange<UInt64>) throws {
        let start = try offset(of: range.lowerBound)
        let end = try end(of: range.upperBound)
        let span = try fileSystem.read(logPath, offset: start, count: Int(end - min(end, start)))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(span.count)
        var position = 0
        while position + RecordFraming.headerSize <= span.count {
            let length = Int(span.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt32.self)) })
            RecordFraming.append([UInt8](repeating: UInt8(ascii: " "), count: length), to: &bytes)
            position += RecordFraming.headerSize + length
        }
        guard position == span.count, UInt64(span.count) == end - start else { throw IndexedLogError.missingRecord(range.upperBound) }
        try fileSystem.overwrite(logPath, at: start, with: bytes)
        try fileSystem.openForAppending(logPath).sync()
    }

    /// Record `n`'s offset in the log.
    private func offset(of n: UInt64) throws -> UInt64 {
        let entry = try fileSystem.read(indexPath, offset: (n - 1) * 8, count: 8)
        guard entry.count == 8 else { throw IndexedLogError.missingRecord(n) }
        return entry.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    /// The log offset just past record `n` (0 for none).
    private func end(of n: UInt64) throws -> UInt64 {
        guard n > 0 else { return 0 }
        let offset = try offset(of: n)
        let header = try fileSystem.read(logPath, offset: offset, count: RecordFraming.headerSize)
        guard header.count == RecordFraming.headerSize else { throw IndexedLogError.missingRecord(n) }
        let length = header.withUnsafeBytes { UInt64(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        return offset + UInt64(RecordFraming.headerSize) + length
    }
}

enum IndexedLogError: Error {
    case missingRecord(UInt64)
}
