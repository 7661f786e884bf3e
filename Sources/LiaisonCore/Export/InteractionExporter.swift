import Foundation

/// Writes the interaction record of one tenant from a data directory: every interaction in the audit
/// trail's order (which is time order), each row with its audit record's hash.
///
/// The trail's hash chain is verified first, whole; a broken chain refuses the export before anything
/// is written. The rows are then built from the same verified bytes (checked again as they are read, in
/// case the file changed in between), and message bodies read from the rooms' files. Memory stays flat
/// however many messages there are: the trail is read a chunk at a time, rows are written as they are
/// made, and what is kept grows only with rooms and open interactions.
public struct InteractionExporter {
    private let dataDirectory: String
    private let fileSystem: any FileSystem

    /// What an export wrote.
    public struct Summary: Sendable, Equatable {
        /// Rows written.
        public let rows: Int
        /// Audit records read (all tenants).
        public let auditRecords: Int
    }

    public init(dataDirectory: String, fileSystem: any FileSystem = LocalFileSystem()) {
        self.dataDirectory = dataDirectory
        self.fileSystem = fileSystem
    }

    private var auditPath: String { Path.join(dataDirectory, "audit.log") }

    /// Verifies the audit trail, then writes the rows `query` selects in `format` to `output`.
    /// Throws `ExportError.brokenChain` before writing anything if the chain is broken.
    @discardableResult
    public func run(_ query: ExportQuery, format: ExportFormat, output: @escaping ExportOutput) throws -> Summary {
        let (outcome, length) = try AuditVerifier.verify(path: auditPath, fileSystem: fileSystem)
        if case .broken(let line, let reason) = outcome { throw ExportError.brokenChain(line: line, reason: reason) }

        var writer = InteractionWriters.make(format, output: output)
        try writer.begin()
        var reader = try LineReader(path: auditPath, fileSystem: fileSystem, limit: length)
        var chain = AuditChainCheck()
        var state = ExportState()
        let lookup = MessageLookup(dataDirectory: dataDirectory, fileSystem: fileSystem)
        var rows = 0
        while let (line, _) = try reader.next() {
            let entry: AuditEntry
            do {
                let (record, hash) = try chain.check(line)
                entry = AuditEntry(record: record, hash: hash)
            } catch {
                throw ExportError.changedDuringExport(line: error.line, reason: error.reason)
            }
            guard entry.record.tenant == query.tenant,
                  let builder = InteractionRecordBuilders.byAction[entry.record.action],
                  var record = builder.build(entry, state: &state),
                  query.selects(record)
            else { continue }
            try builder.complete(&record, query: query, lookup: lookup)
            try writer.write(record)
            rows += 1
        }
        try writer.finish()
        return Summary(rows: rows, auditRecords: chain.lines)
    }
}

/// Why an export was refused.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// The audit trail's hash chain is broken at this line (from 1): nothing was exported.
    case brokenChain(line: Int, reason: String)
    /// The part of the trail verified before the export no longer verified as it was read again: the
    /// file was changed during the export, whose output is incomplete.
    case changedDuringExport(line: Int, reason: String)

    public var description: String {
        switch self {
        case .brokenChain(let line, let reason):
            "the audit trail's hash chain is broken at line \(line): \(reason); nothing was exported "
                + "(run `liaison audit verify`)"
        case .changedDuringExport(let line, let reason):
            "the audit trail changed during the export, at line \(line): \(reason); the export is incomplete"
        }
    }
}
