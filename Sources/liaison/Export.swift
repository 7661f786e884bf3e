import ArgumentParser
import Foundation
import LiaisonCore

/// `liaison export`: a tenant's interaction record, after verifying the audit trail.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a tenant's interaction record (JSONL or CSV), after verifying the audit trail.",
        discussion: """
            Every interaction in time order (messages, MOD requests, calls, room membership), each row with \
            the hash of its audit record. The audit trail's hash chain is verified first: if it is broken, \
            nothing is written and the exit status is 2. The file is written beside FILE and renamed to it \
            once complete. It only reads the data directory, so it may run beside the server.
            """)

    @Option(help: "The data directory.") var dataDir = "data"
    @Option(help: "The tenant whose interactions are exported.") var tenant: String
    @Option(help: "Only interactions this user took part in (sent, was a member of the room, was offered or rung).")
    var user: String?
    @Option(help: "Only interactions in this room.") var room: String?
    @Option(help: "Only from this time on: ISO 8601 (2026-03-01T09:00:00Z) or a date (UTC midnight).") var since: String?
    @Option(help: "Only before this time: ISO 8601 or a date.") var until: String?
    @Option(help: "jsonl or csv.") var format = "jsonl"
    @Option(help: "include (message bodies) or hash (only their SHA-256).") var bodies = "include"
    @Option(help: "The output file; - for standard output.") var out: String

    func validate() throws {
        guard ExportFormat(rawValue: format) != nil else { throw ValidationError("--format must be jsonl or csv") }
        guard ExportQuery.Bodies(rawValue: bodies) != nil else { throw ValidationError("--bodies must be include or hash") }
        for (flag, value) in [("--since", since), ("--until", until)] {
            if let value, ExportTime.parse(value) == nil {
                throw ValidationError("\(flag) must be an ISO 8601 time (2026-03-01T09:00:00Z) or a date (2026-03-01)")
            }
        }
        guard !tenant.isEmpty else { throw ValidationError("--tenant must not be empty") }
    }

    func run() throws {
        let auditPath = URL(fileURLWithPath: dataDir).appendingPathComponent("audit.log").path
        guard FileManager.default.fileExists(atPath: auditPath) else {
            printError("no audit trail at \(auditPath): is \(dataDir) a Liaison data directory?")
            throw ExitCode.failure
        }
        let query = ExportQuery(
            tenant: tenant, user: user, room: room, since: since.flatMap(ExportTime.parse),
            until: until.flatMap(ExportTime.parse), bodies: ExportQuery.Bodies(rawValue: bodies)!)
        let destination = try ExportDestination(out)
        do {
            let summary = try InteractionExporter(dataDirectory: URL(fileURLWithPath: dataDir).path)
                .run(query, format: ExportFormat(rawValue: format)!, output: destination.write)
            try destination.commit()
            printError("\(summary.rows) rows from \(summary.auditRecords) verified audit records → \(out)")
        } catch let error as ExportError {
            destination.discard()
            printError("refused: \(error)")
            throw ExitCode(2)
        } catch {
            destination.discard()
            throw error
        }
    }

    private func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Where `liaison export` writes: standard output, or a file written as `FILE.partial` and renamed to
/// `FILE` once complete (so FILE never holds half an export).
private final class ExportDestination {
    private let path: String?
    private let handle: FileHandle

    init(_ out: String) throws {
        guard out != "-" else {
            path = nil
            handle = .standardOutput
            return
        }
        path = out
        let partial = out + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil),
              let handle = FileHandle(forWritingAtPath: partial)
        else { throw ValidationError("cannot write \(partial)") }
        self.handle = handle
    }

    func write(_ bytes: [UInt8]) throws {
        try handle.write(contentsOf: bytes)
    }

    func commit() throws {
        guard let path else { return }
        try handle.synchronize()
        try handle.close()
        guard rename(path + ".partial", path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    func discard() {
        guard let path else { return }
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path + ".partial")
    }
}
