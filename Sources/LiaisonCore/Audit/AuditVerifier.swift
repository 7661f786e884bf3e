import Foundation

/// Checks an audit file's hash chain: every record's hash, every link to the previous record, and
/// consecutive sequence numbers. Finds edits, deletions and reordering. Reads the file a chunk at a time.
public enum AuditVerifier {
    public enum Outcome: Equatable, Sendable {
        case intact(records: Int)
        /// The first broken record: its line number (from 1) and what is wrong.
        case broken(line: Int, reason: String)
    }

    /// The whole file's outcome: a last line without its newline is broken too (a record torn by a
    /// crash, which the server cuts at its next start; or one being written as the file was read).
    public static func verify(_ url: URL) throws -> Outcome {
        let fileSystem = LocalFileSystem()
        let (outcome, length) = try verify(path: url.path, fileSystem: fileSystem)
        guard case .intact(let records) = outcome, try fileSystem.size(of: url.path) ?? 0 > length else { return outcome }
        return .broken(line: records + 1, reason: "the last record is incomplete: torn by a crash, or still being written")
    }

    /// The outcome for the file's complete lines, and their length (what an export may then read). A
    /// last line without its newline, such as a record the server is writing meanwhile, is left out.
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
