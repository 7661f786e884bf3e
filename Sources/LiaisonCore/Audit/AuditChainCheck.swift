import Foundation

/// Follows an audit file's hash chain one line at a time: each record's hash must match its content,
/// name the previous record's hash, and carry the next sequence number. Holds only the last link, so
/// a file of any length is checked in flat memory.
struct AuditChainCheck {
    /// The first broken line: its number (from 1) and what is wrong.
    struct Break: Error, Equatable {
        let line: Int
        let reason: String
    }

    private var prev = AuditRecord.genesis
    private var expectedSeq: UInt64?
    private let decoder = JSONDecoder()
    /// Lines checked so far.
    private(set) var lines = 0

    /// Checks the next line (without its newline); returns its record and hash.
    mutating func check(_ line: some Collection<UInt8>) throws(Break) -> (record: AuditRecord, hash: String) {
        lines += 1
        guard !line.isEmpty else { throw Break(line: lines, reason: "empty line") }
        guard let (record, stated, actual) = AuditChain.parse(line, decoder: decoder) else {
            throw Break(line: lines, reason: "not an audit record")
        }
        guard stated == actual else {
            throw Break(line: lines, reason: "record \(record.seq) was altered: its hash does not match its content")
        }
        guard record.prev == prev else {
            throw Break(line: lines, reason: "record \(record.seq) does not follow the record before it (a record was removed, inserted or moved)")
        }
        if let expectedSeq, record.seq != expectedSeq {
            throw Break(line: lines, reason: "record \(record.seq) is out of sequence: expected \(expectedSeq)")
        }
        expectedSeq = record.seq + 1
        prev = stated
        return (record, stated)
    }
}
