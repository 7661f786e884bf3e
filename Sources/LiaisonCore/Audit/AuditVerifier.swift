import Foundation

/// Checks an audit file's hash chain: every record's hash, every link to the previous record, and
/// consecutive sequence numbers. Finds edits, deletions and reordering. Reads the file a chunk at a time.
public enum AuditVerifier {
    public enum Outcome: Equatable, Sendable {
        case intact(records: Int)
        /// The first broken record: its line number (from 1) and what is wrong.
        case broken(line: Int, reason: String)
    }

    public static func verify(_ url: URL) throws -> Outcome {
        try verify(path: url.path, fileSystem: LocalFileSystem()).outcome
    }

    /// The outcome, and the length of the file that was checked (what an export may then read).
    public static func verify(path: String, fileSystem: any FileSystem) throws -> (outcome: Outcome, length: UInt64) {
        var reader = try LineReader(path: path, fileSystem: fileSystem)
        var chain = AuditChainCheck()
        var length: UInt64 = 0
        while let (line, end) = try reader.next() {
            do {
                _ = try chain.check(line)
            } catch {
                return (.broken(line: error.line, reason: error.reason), length)
            }
            length = end
        }
        return (.intact(records: chain.lines), length)
    }
}
