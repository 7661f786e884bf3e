import Foundation
import Synchronization
import Testing
@testable import LiaisonCore

/// The hash-chained audit trail: what `AuditLog` writes, `AuditVerifier` accepts, and any tampering breaks.
@Suite struct AuditTests {
    /// Writes `count` records to a new log at `url` and flushes them.
    func writeRecords(_ count: Int, to url: URL, startingAt first: Int = 1) throws {
        let log = try AuditLog(url: url)
        for index in first..<(first + count) {
            log.record(AuditEvent(
                "presence.watch", tenant: "t1", actor: "u\(index)", device: "d",
                refused: index % 3 == 0 ? .forbidden : nil, detail: ["n": String(index)]))
        }
        log.flush()
    }

    func lines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Writes `lines` (each without newline) back, one a line.
    func write(_ lines: [String], to url: URL) throws {
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
    }

    func isBroken(_ outcome: AuditVerifier.Outcome, atLine line: Int) -> Bool {
        if case .broken(line, _) = outcome { return true }
        return false
    }

    /// A mirror that keeps nothing until told to, counting the retries it is offered (calls with no new lines).
    final class UnreachableMirror: AuditMirror, @unchecked Sendable {
        private let state = Mutex<(reachable: Bool, retries: Int, kept: Int)>((false, 0, 0))
        func keep(_ lines: [UInt8]) -> Bool {
            state.withLock { state in
                if lines.isEmpty { state.retries += 1 }
                state.kept += lines.count(where: { $0 == UInt8(ascii: "\n") })
                return state.reachable
            }
        }
        func reach() { state.withLock { $0.reachable = true } }
        var retries: Int { state.withLock { $0.retries } }
    }

    @Test func aMirrorOutOfReachIsRetriedOnceASecondHoweverManyBatchesAreWritten() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let mirror = UnreachableMirror()
            let log = try AuditLog(path: dir.appendingPathComponent("audit.log").path, fileSystem: LocalFileSystem(),
                                   mirror: mirror)
            for index in 0..<20 {  // twenty batches, none kept by the mirror
                log.record(AuditEvent("presence.watch", tenant: "t1", actor: "u\(index)", device: "d"))
                log.flush()
            }
            try await Task.sleep(for: .milliseconds(1500))
            #expect(mirror.retries == 1)  // one retry chain, not one per batch
            mirror.reach()
            try await Task.sleep(for: .milliseconds(1200))
            let retries = mirror.retries
            try await Task.sleep(for: .milliseconds(1200))
            #expect(mirror.retries == retries)  // kept: no more retries
        }
    }

    @Test func writtenRecordsVerifyIntactWithTheirCount() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(5, to: url)
            #expect(try AuditVerifier.verify(url) == .intact(records: 5))
        }
    }

    @Test func emptyLogVerifiesIntactWithNoRecords() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            _ = try AuditLog(url: url)
            #expect(try AuditVerifier.verify(url) == .intact(records: 0))
        }
    }

    @Test func flushWritesEveryRecordAsOneLine() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(4, to: url)
            let all = try lines(url)
            #expect(all.count == 5)  // four records and the empty string after the final newline
            #expect(all.last == "")
            #expect(all[0].contains(#""seq":1"#))
            #expect(all[0].contains(#""prev":"\#(String(repeating: "0", count: 64))""#))
            #expect(all[2].contains(#""outcome":"refused""#))
            #expect(all[2].contains(#""code":"forbidden""#))
        }
    }

    @Test func editingAByteBreaksTheChainAtThatLine() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(5, to: url)
            var all = try lines(url)
            let edited = all[2].replacingOccurrences(of: #""actor":"u3""#, with: #""actor":"u4""#)
            #expect(edited != all[2])
            all[2] = edited
            try write(all, to: url)
            let outcome = try AuditVerifier.verify(url)
            #expect(isBroken(outcome, atLine: 3), "\(outcome)")
        }
    }

    @Test func editingAByteOfTheHashBreaksTheChainAtThatLine() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(3, to: url)
            var data = try Data(contentsOf: url)
            let firstNewline = try #require(data.firstIndex(of: UInt8(ascii: "\n")))
            let hashByte = firstNewline - 3  // inside the hash, before `"}`
            data[hashByte] = data[hashByte] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            try data.write(to: url)
            let outcome = try AuditVerifier.verify(url)
            #expect(isBroken(outcome, atLine: 1), "\(outcome)")
        }
    }

    @Test func deletingALineBreaksTheChain() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(5, to: url)
            var all = try lines(url)
            all.remove(at: 2)
            try write(all, to: url)
            let outcome = try AuditVerifier.verify(url)
            #expect(isBroken(outcome, atLine: 3), "\(outcome)")
        }
    }

    @Test func deletingTheFirstLineBreaksTheChain() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(3, to: url)
            var all = try lines(url)
            all.removeFirst()
            try write(all, to: url)
            let outcome = try AuditVerifier.verify(url)
            #expect(isBroken(outcome, atLine: 1), "\(outcome)")
        }
    }

    @Test func swappingTwoLinesBreaksTheChain() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(5, to: url)
            var all = try lines(url)
            all.swapAt(1, 3)
            try write(all, to: url)
            let outcome = try AuditVerifier.verify(url)
            #expect(isBroken(outcome, atLine: 2), "\(outcome)")
        }
    }

    @Test func insertingABlankLineBreaksTheChain() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(3, to: url)
            var all = try lines(url)
            all.insert("", at: 1)
            try write(all, to: url)
            let outcome = try AuditVerifier.verify(url)
            #expect(isBroken(outcome, atLine: 2), "\(outcome)")
        }
    }

    @Test func aRecordStillBeingWrittenAtTheEndIsNotCounted() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(3, to: url)
            let complete = try Data(contentsOf: url)
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"action":"session.start","actor":"u9""#.utf8))
            try handle.close()
            let (outcome, length) = try AuditVerifier.verify(path: url.path, fileSystem: LocalFileSystem())
            #expect(outcome == .intact(records: 3))
            #expect(length == UInt64(complete.count))
        }
    }

    @Test func reopeningTheLogContinuesTheChain() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(3, to: url)
            try writeRecords(4, to: url, startingAt: 4)
            #expect(try AuditVerifier.verify(url) == .intact(records: 7))
            let all = try lines(url)
            #expect(all[3].contains(#""seq":4"#))
        }
    }

    @Test func tornLastLineIsCutOnReopenAndTheChainContinues() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("audit.log")
            try writeRecords(3, to: url)
            let whole = try Data(contentsOf: url)
            let firstLine = try lines(url)[0]
            let torn = Data(firstLine.utf8.prefix(firstLine.utf8.count / 2))
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            try handle.write(contentsOf: torn)
            try handle.close()
            #expect(isBroken(try AuditVerifier.verify(url), atLine: 4))

            let log = try AuditLog(url: url)
            #expect(try Data(contentsOf: url) == whole)
            log.record(AuditEvent("session.start", tenant: "t1", actor: "u9"))
            log.record(AuditEvent("session.end", tenant: "t1", actor: "u9"))
            log.flush()
            #expect(try AuditVerifier.verify(url) == .intact(records: 5))
            #expect(try lines(url)[3].contains(#""seq":4"#))
        }
    }
}
