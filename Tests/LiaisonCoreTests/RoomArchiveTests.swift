import Foundation
import Testing
@testable import LiaisonCore

/// A room's on-disk archive: the message log with its offset index, and the `meta.json` snapshot.
@Suite struct RoomArchiveTests {
    func archive(in dir: URL, room: String = "r1") -> RoomArchive {
        RoomArchive(roomsDirectory: dir, room: room)
    }

    func payloads(_ messages: [StoredMessage]) -> [Data] { messages.map(\.frame.payload) }

    func meta(_ id: String, lastSeq: UInt64) -> RoomArchive.Meta {
        RoomArchive.Meta(id: id, tenant: "t1", kind: .group, title: "Title of \(id)", createdAt: 1_000,
                         members: ["alice", "bob", "carol"], lastSeq: lastSeq, acked: ["bob": lastSeq],
                         read: ["alice": lastSeq, "bob": lastSeq - 1], snapshotAt: 2_000)
    }

    @Test func anySubRangeReadsBackTheArchivedPayloads() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            let messages = storedMessages(1...20)
            try archive.append(messages, after: 0)
            for range: ClosedRange<UInt64> in [1...20, 1...1, 20...20, 5...9, 13...20, 1...19, 2...2] {
                let read = try archive.read(range)
                #expect(payloads(read) == payloads(Array(messages[Int(range.lowerBound - 1)..<Int(range.upperBound)])),
                        "range \(range)")
            }
        }
    }

    @Test func readRebuildsTheMessagesFields() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            try archive.append([storedMessage(1, from: "bob", clientMsgID: "x-1"), storedMessage(2, from: "carol")],
                               after: 0)
            let read = try archive.read(1...2)
            #expect(read.map(\.seq) == [1, 2])
            #expect(read.map(\.from) == ["bob", "carol"])
            #expect(read.map(\.clientMsgID) == ["x-1", nil])
            #expect(read.map(\.ts) == [storedMessage(1).ts, storedMessage(2).ts])
            #expect(read.map(\.room) == ["r1", "r1"])
        }
    }

    @Test func readBeyondTheArchiveReturnsWhatIsThere() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            let messages = storedMessages(1...10)
            try archive.append(messages, after: 0)
            #expect(try payloads(archive.read(8...15)) == payloads(Array(messages[7...])))
            #expect(try archive.read(11...15).isEmpty)
        }
    }

    @Test func appendOfNothingCreatesNoFiles() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            try archive.append([], after: 0)
            #expect(!FileManager.default.fileExists(atPath: archive.directory))
        }
    }

    @Test func appendInTwoBatchesReadsAcrossTheBoundary() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            let messages = storedMessages(1...12)
            try archive.append(Array(messages[0..<5]), after: 0)
            try archive.append(Array(messages[5...]), after: 5)
            #expect(try payloads(archive.read(1...12)) == payloads(messages))
            #expect(try payloads(archive.read(4...8)) == payloads(Array(messages[3..<8])))
            #expect(try payloads(archive.read(6...12)) == payloads(Array(messages[5...])))
        }
    }

    @Test func leftoverTailBeyondArchivedSeqIsCut() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            let first = storedMessages(1...10, body: "first run")
            try archive.append(first, after: 0)
            // A crash before meta.json recorded 6...10: the snapshot says 5, and 6...8 come again, different.
            let second = storedMessages(6...8, body: "second run")
            try archive.append(second, after: 5)
            #expect(try payloads(archive.read(1...8)) == payloads(Array(first[0..<5]) + second))
            #expect(try payloads(archive.read(6...8)) == payloads(second))
            #expect(try archive.read(9...10).isEmpty)
        }
    }

    /// A crash after the log was written but before the index was leaves whole records in the log that
    /// no index entry points to; they lie beyond `archivedSeq` and must be cut like any other tail.
    @Test func leftoverLogRecordsWithoutIndexEntriesAreCut() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            let first = storedMessages(1...5, body: "first run")
            try archive.append(first, after: 0)
            // The crash: 6...7 reached messages.log, messages.idx was not written.
            let log = URL(fileURLWithPath: archive.directory).appendingPathComponent("messages.log")
            let handle = try FileHandle(forWritingTo: log)
            try handle.seekToEnd()
            for message in storedMessages(6...7, body: "lost run") {
                try handle.write(contentsOf: Data(RecordFraming.frame(message.frame.payload)))
            }
            try handle.close()

            let second = storedMessages(6...8, body: "second run")
            try archive.append(second, after: 5)
            #expect(try payloads(archive.read(1...8)) == payloads(first + second))
            #expect(try payloads(archive.read(5...6)) == payloads([first[4], second[0]]))
        }
    }

    /// The same crash, during the log write: a partial record follows the archived ones.
    @Test func leftoverTornLogRecordWithoutIndexEntryIsCut() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            let first = storedMessages(1...5, body: "first run")
            try archive.append(first, after: 0)
            let log = URL(fileURLWithPath: archive.directory).appendingPathComponent("messages.log")
            let handle = try FileHandle(forWritingTo: log)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(RecordFraming.frame(storedMessage(6).frame.payload).prefix(20)))
            try handle.close()

            let second = storedMessages(6...8, body: "second run")
            try archive.append(second, after: 5)
            #expect(try payloads(archive.read(1...8)) == payloads(first + second))
        }
    }

    /// An index write cut short (a failed snapshot, e.g. ENOSPC, or a power loss) leaves part of the
    /// entry for `archivedSeq + 1`; the next append must still cut the tail at the right place. Run in a
    /// child process: reading a whole `UInt64` out of fewer than 8 bytes traps in a debug build.
    @Test func partialIndexEntryBeyondArchivedSeqIsCutWithoutLosingArchivedMessages() async throws {
        // The directory belongs to this process, so it is removed even when the child crashes.
        try await withTemporaryDirectoryAsync { dir in
            await #expect(processExitsWith: .success) { [path = dir.path as String] in
                let archive = RoomArchive(roomsDirectory: URL(fileURLWithPath: path), room: "r1")
                let first = storedMessages(1...5, body: "first run")
                try archive.append(first, after: 0)
                let log = URL(fileURLWithPath: archive.directory).appendingPathComponent("messages.log")
                let index = URL(fileURLWithPath: archive.directory).appendingPathComponent("messages.idx")
                let logLength = try Data(contentsOf: log).count
                // One byte of the entry for seq 6 (its offset is the log's length) reached the index.
                let handle = try FileHandle(forWritingTo: index)
                try handle.seekToEnd()
                try handle.write(contentsOf: Data([UInt8(logLength & 0x7F)]))
                try handle.close()

                let second = storedMessages(6...8, body: "second run")
                try archive.append(second, after: 5)
                let read = try archive.read(1...8)
                if read.map(\.frame.payload) != (first + second).map(\.frame.payload) { exit(1) }
            }
        }
    }

    @Test func resendIndexListsEachArchivedMessageWithAClientMsgIDInOrder() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            #expect(try archive.readResends().isEmpty)
            try archive.append([storedMessage(1, from: "bob", clientMsgID: "a"), storedMessage(2, from: "carol")], after: 0)
            try archive.append([storedMessage(3, from: "alice", clientMsgID: "a")], after: 2)
            let entries = try archive.readResends()
            #expect(entries.map(\.hash) == [ResendKey.hash(from: "bob", clientMsgID: "a"),
                                            ResendKey.hash(from: "alice", clientMsgID: "a")])
            #expect(entries.map(\.seq) == [1, 3])
        }
    }

    @Test func metaWriteThenLoadAllRoundTrips() throws {
        try withTemporaryDirectory { dir throws in
            let written = [meta("r1", lastSeq: 12), meta("r2", lastSeq: 1)]
            for meta in written { try archive(in: dir, room: meta.id).write(meta) }
            let loaded = try RoomArchive.loadAll(dir).sorted { $0.id < $1.id }
            #expect(loaded.count == 2)
            for (load, write) in zip(loaded, written) {
                #expect(load.id == write.id)
                #expect(load.tenant == write.tenant)
                #expect(load.kind == write.kind)
                #expect(load.title == write.title)
                #expect(load.createdAt == write.createdAt)
                #expect(load.members == write.members)
                #expect(load.lastSeq == write.lastSeq)
                #expect(load.acked == write.acked)
                #expect(load.read == write.read)
                #expect(load.snapshotAt == write.snapshotAt)
            }
        }
    }

    @Test func metaWithoutTitleRoundTrips() throws {
        try withTemporaryDirectory { dir throws in
            var untitled = meta("r1", lastSeq: 3)
            untitled.title = nil
            untitled.kind = .direct
            try archive(in: dir).write(untitled)
            let loaded = try RoomArchive.loadAll(dir)
            #expect(loaded.count == 1)
            #expect(loaded.first?.title == nil)
            #expect(loaded.first?.kind == .direct)
        }
    }

    @Test func laterMetaWriteReplacesTheEarlierAndLeavesNoTemporaryFile() throws {
        try withTemporaryDirectory { dir throws in
            let archive = archive(in: dir)
            try archive.write(meta("r1", lastSeq: 3))
            var later = meta("r1", lastSeq: 9)
            later.members = ["alice"]
            try archive.write(later)
            let loaded = try RoomArchive.loadAll(dir)
            #expect(loaded.map(\.lastSeq) == [9])
            #expect(loaded.map(\.members) == [["alice"]])
            let files = try FileManager.default.contentsOfDirectory(atPath: archive.directory)
            #expect(files == ["meta.json"])
        }
    }

    @Test func loadAllSkipsRoomsWithoutMeta() throws {
        try withTemporaryDirectory { dir throws in
            try archive(in: dir, room: "r1").append(storedMessages(1...2), after: 0)
            try archive(in: dir, room: "r2").write(meta("r2", lastSeq: 4))
            #expect(try RoomArchive.loadAll(dir).map(\.id) == ["r2"])
        }
    }

    @Test func loadAllOfAMissingDirectoryCreatesItAndFindsNothing() throws {
        try withTemporaryDirectory { dir throws in
            let rooms = dir.appendingPathComponent("rooms", isDirectory: true)
            #expect(try RoomArchive.loadAll(rooms).isEmpty)
            #expect(FileManager.default.fileExists(atPath: rooms.path))
        }
    }
}
