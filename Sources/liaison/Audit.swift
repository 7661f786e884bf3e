import ArgumentParser
import Foundation
import LiaisonCore

/// `liaison audit …`: tools for the audit trail.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Work with the audit trail.", subcommands: [Verify.self])

    /// `liaison audit verify [FILE]`: checks the hash chain; exits non-zero at the first broken link.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check an audit file's hash chain.")

        @Argument(help: "The audit file (default: data/audit.log).") var file: String = "data/audit.log"

        func run() throws {
            switch try AuditVerifier.verify(URL(fileURLWithPath: file)) {
            case .intact(let records):
                print("\(file): intact, \(records) records")
            case .broken(let line, let reason):
                print("\(file): BROKEN at line \(line): \(reason)")
                throw ExitCode(1)
            }
        }
    }
}
