import Foundation
import Logging
import Testing
@testable import LiaisonCore

/// The write-ahead journal: group commit, completion order, segments, and recovery of a torn tail.
@Suite struct JournalTests {
    let logger = Logger(label: "liaison.tests.journal")

    func record(_ index: Int) -> [UInt8] { Array(#"{"type":"test","room":"r1","n":\#(index)}"#.utf8) }

    /// The payloads of the whole records in segment `number`.
    func recordsOfSegment(_ number: UInt64, in directory: URL) throws -> [[UInt8]] {
        let data = try Data(contentsOf: Journal.url(of: number, in: directory))
        return RecordFraming.records(in: data).records.map { Array($0.payload) }
    }

    func segmentNumbers(in directory: URL) -> [UInt64] { Journal.segments(in: directory).map(\.number) }

    @Test(arguments: FsyncMode.allCases)
    func appendedRecordsAreRecoveredInOrderAfterClose(mode: FsyncMode) throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: mode, lastSegment: 0)
            let expected = (0..<200).map(record)
            for payload in expected { journal.append(.bytes(payload)) }
            journal.close()
            let (records, lastSegment) = try Journal.recover(dir, logger: logger)
            #expect(records.map { Array($0) } == expected)
            #expect(lastSegment == 1)
        }
    }

    @Test func framePayloadsAreJournaledAsTheirBytes() throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            let frames = storedMessages(1...5).map(\.frame)
            for frame in frames { journal.append(.frame(frame)) }
            journal.append(.bytes(record(0)))
            journal.close()
            let (records, _) = try Journal.recover(dir, logger: logger)
            #expect(records == frames.map(\.payload) + [Data(record(0))])
        }
    }

    @Test(arguments: FsyncMode.allCases)
    func completionsRunInAppendOrder(mode: FsyncMode) throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: mode, lastSegment: 0)
            let order = CompletionLog<Int>()
            let done = CompletionSignal()
            let count = 500
            for index in 0..<count {
                journal.append(.bytes(record(index))) {
                    order.append(index)
                    if index == count - 1 { done.fire() }
                }
            }
            #expect(done.wait())
            journal.close()
            #expect(order.all == Array(0..<count))
        }
    }

    @Test(arguments: FsyncMode.allCases)
    func completionRunsOnlyAfterItsRecordIsWritten(mode: FsyncMode) throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: mode, lastSegment: 0)
            let segment = Journal.url(of: 1, in: dir)
            let expected = (0..<50).map(record)
            let written = CompletionLog<Bool>()
            let done = CompletionSignal()
            for (index, payload) in expected.enumerated() {
                journal.append(.bytes(payload)) {
                    // The record is in the file when its completion runs.
                    let data = (try? Data(contentsOf: segment)) ?? Data()
                    let records = RecordFraming.records(in: data).records
                    written.append(records.count > index && Array(records[index].payload) == payload)
                    if index == expected.count - 1 { done.fire() }
                }
            }
            #expect(done.wait())
            journal.close()
            #expect(written.all == Array(repeating: true, count: expected.count))
        }
    }

    @Test(arguments: FsyncMode.allCases)
    func afterPendingWritesRunsAfterEarlierAppendsComplete(mode: FsyncMode) throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: mode, lastSegment: 0)
            let events = CompletionLog<String>()
            let done = CompletionSignal()
            for index in 0..<100 {
                journal.append(.bytes(record(index))) { events.append("append \(index)") }
            }
            journal.afterPendingWrites {
                events.append("barrier")
                done.fire()
            }
            #expect(done.wait())
            let seen = events.all
            #expect(seen.count == 101)
            #expect(seen.last == "barrier")
            journal.close()
        }
    }

    @Test func afterPendingWritesOnAnIdleJournalRunsAndWritesNothing() throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            let done = CompletionSignal()
            journal.afterPendingWrites { done.fire() }
            #expect(done.wait())
            journal.close()
            #expect(try recordsOfSegment(1, in: dir).isEmpty)
        }
    }

    @Test func closeWritesWhatIsQueuedAndRunsItsCompletions() throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            let completed = CompletionLog<Int>()
            for index in 0..<300 { journal.append(.bytes(record(index))) { completed.append(index) } }
            journal.close()
            #expect(completed.all == Array(0..<300))
            #expect(try recordsOfSegment(1, in: dir) == (0..<300).map(record))
        }
    }

    @Test func newJournalOpensTheSegmentAfterLastSegment() throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 7)
            journal.append(.bytes(record(1)))
            journal.close()
            #expect(segmentNumbers(in: dir) == [8])
            #expect(try recordsOfSegment(8, in: dir) == [record(1)])
        }
    }

    @Test func rotateReturnsANewSegmentNumber() async throws {
        try await withTemporaryDirectoryAsync { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            let second = await journal.rotate()
            let third = await journal.rotate()
            journal.close()
            #expect(second == 2)
            #expect(third == 3)
            #expect(segmentNumbers(in: dir) == [1, 2, 3])
        }
    }

    @Test(arguments: FsyncMode.allCases)
    func appendsAfterRotateLandInTheNewSegment(mode: FsyncMode) async throws {
        try await withTemporaryDirectoryAsync { dir throws in
            let journal = try Journal(directory: dir, mode: mode, lastSegment: 0)
            for index in 0..<10 { journal.append(.bytes(record(index))) }
            let segment = await journal.rotate()
            for index in 10..<15 { journal.append(.bytes(record(index))) }
            journal.close()
            #expect(segment == 2)
            #expect(try recordsOfSegment(1, in: dir) == (0..<10).map(record))
            #expect(try recordsOfSegment(2, in: dir) == (10..<15).map(record))
            let (records, lastSegment) = try Journal.recover(dir, logger: logger)
            #expect(records.map { Array($0) } == (0..<15).map(record))
            #expect(lastSegment == 2)
        }
    }

    @Test func removeSegmentsDeletesOnlyOlderSegments() async throws {
        try await withTemporaryDirectoryAsync { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            journal.append(.bytes(record(1)))
            _ = await journal.rotate()
            journal.append(.bytes(record(2)))
            let third = await journal.rotate()
            journal.append(.bytes(record(3)))
            try journal.removeSegments(before: third)
            #expect(segmentNumbers(in: dir) == [3])
            journal.append(.bytes(record(4)))
            journal.close()
            let (records, lastSegment) = try Journal.recover(dir, logger: logger)
            #expect(records.map { Array($0) } == [record(3), record(4)])
            #expect(lastSegment == 3)
        }
    }

    @Test func removeSegmentsBeforeTheFirstDeletesNothing() async throws {
        try await withTemporaryDirectoryAsync { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 4)
            _ = await journal.rotate()
            try journal.removeSegments(before: 5)
            journal.close()
            #expect(segmentNumbers(in: dir) == [5, 6])
        }
    }

    @Test func recoverCutsATornTailAndReturnsTheRecordsBeforeIt() async throws {
        try await withTemporaryDirectoryAsync { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            for index in 0..<5 { journal.append(.bytes(record(index))) }
            _ = await journal.rotate()
            for index in 5..<10 { journal.append(.bytes(record(index))) }
            journal.close()

            let last = Journal.url(of: 2, in: dir)
            let whole = try Data(contentsOf: last)
            let lastRecordStart = whole.count - RecordFraming.frame(record(9)).count
            let handle = try FileHandle(forWritingTo: last)
            try handle.truncate(atOffset: UInt64(whole.count - 3))
            try handle.close()

            let (records, lastSegment) = try Journal.recover(dir, logger: logger)
            #expect(records.map { Array($0) } == (0..<9).map(record))
            #expect(lastSegment == 2)
            let cut = try Data(contentsOf: last)
            #expect(cut.count == lastRecordStart)
            #expect(cut == whole.prefix(lastRecordStart))
        }
    }

    @Test func recoverCutsACorruptTail() throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            for index in 0..<4 { journal.append(.bytes(record(index))) }
            journal.close()
            let segment = Journal.url(of: 1, in: dir)
            var data = try Data(contentsOf: segment)
            let validLength = data.count
            data.append(contentsOf: [0x10, 0, 0, 0, 1, 2, 3, 4, 5, 6])  // a header claiming 16 bytes, then 2
            try data.write(to: segment)

            let (records, _) = try Journal.recover(dir, logger: logger)
            #expect(records.map { Array($0) } == (0..<4).map(record))
            #expect(try Data(contentsOf: segment).count == validLength)
        }
    }

    @Test func journalReopenedAfterRecoveryKeepsEveryRecord() throws {
        try withTemporaryDirectory { dir throws in
            let first = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            for index in 0..<3 { first.append(.bytes(record(index))) }
            first.close()
            let (_, lastSegment) = try Journal.recover(dir, logger: logger)
            let second = try Journal(directory: dir, mode: .batch, lastSegment: lastSegment)
            for index in 3..<6 { second.append(.bytes(record(index))) }
            second.close()
            let (records, last) = try Journal.recover(dir, logger: logger)
            #expect(records.map { Array($0) } == (0..<6).map(record))
            #expect(last == 2)
        }
    }

    @Test func recoverOfAMissingDirectoryCreatesItAndFindsNothing() throws {
        try withTemporaryDirectory { dir throws in
            let journalDirectory = dir.appendingPathComponent("journal", isDirectory: true)
            let (records, lastSegment) = try Journal.recover(journalDirectory, logger: logger)
            #expect(records.isEmpty)
            #expect(lastSegment == 0)
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: journalDirectory.path, isDirectory: &isDirectory)
            #expect(exists)
            #expect(isDirectory.boolValue)
        }
    }

    @Test func segmentsIgnoresFilesThatAreNotSegments() throws {
        try withTemporaryDirectory { dir throws in
            let journal = try Journal(directory: dir, mode: .batch, lastSegment: 0)
            journal.close()
            #expect(FileManager.default.createFile(atPath: dir.appendingPathComponent("notes.txt").path, contents: Data()))
            #expect(FileManager.default.createFile(atPath: dir.appendingPathComponent("abc.log").path, contents: Data()))
            #expect(segmentNumbers(in: dir) == [1])
        }
    }
}
