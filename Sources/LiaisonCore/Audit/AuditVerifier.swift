import Foundation

/// Checks an audit file's hash chain: every record's hash, every link to the previous record, and
/// consecutive sequence numbers. Finds edits, deletions and reordering.
public enum AuditVerifier {
    public enum Outcome: Equatable, Sendable {
        case intact(records: Int)
        /// The first broken record: its line number (from 1) and what is wrong.
        case broken(line: Int, reason: String)
    }

    public static func verify(_ url: URL) throws -> Outcome {
        let data = try Data(contentsOf: url)
        let decoder = JSONDecoder()
        var prev = AuditRecord.genesis
        var expectedSeq: UInt64?
        var count = 0
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line.isEmpty {
                if index == lines.count - 1 { break }  // the file's final newline
                return .broken(line: number, reason: "empty line")
            }
            guard let (record, stated, actual) = AuditChain.parse(line, decoder: decoder) else {
                return .broken(line: number, reason: "not an audit record")
            }
            guard stated == actual else {
                return .broken(line: number, reason: "record \(record.seq) was altered: its hash does not match its content")
            }
            guard record.prev == prev else {
                return .broken(line: number, reason: "record \(record.seq) does not follow the record before it (a record was removed, inserted or moved)")
            }
            if let expectedSeq, record.seq != expectedSeq {
                return .broken(line: number, reason: "record \(record.seq) is out of sequence: expected \(expectedSeq)")
            }
            expectedSeq = record.seq + 1
            prev = stated
            count += 1
        }
        return .intact(records: count)
    }
}
