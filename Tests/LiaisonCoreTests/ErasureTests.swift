import Crypto
import Foundation
import Testing
@testable import LiaisonCore

/// Retention's erasure of a room archive: tombstones in place of the oldest messages, the records
/// overwritten on disk, and a power cut at any step leaving either the messages or their tombstones.
@Suite struct ErasureTests {
    static let root = "/data/rooms"

    /// A room archive of `count` messages (seq n sent at `base + n`) on `fileSystem`.
    func archive(_ fileSystem: any FileSystem, count: UInt64) throws -> RoomArchive {
        try fileSystem.makeDirectory(Self.root)
        let archive = RoomArchive(roomsDirectory: Self.root, room: "r1", fileSystem: fileSystem)
        try archive.append(storedMessages(1...count, body: "secret body"), after: 0)
        return archive
    }

    /// The `ts` of message `seq` of `storedMessages`.
    func ts(_ seq: UInt64) -> Millis { Millis(1_700_000_000_000) + Millis(seq) }

    func events(_ messages: [StoredMessage]) throws -> [MessageEvent] {
        try messages.map { try JSONDecoder().decode(MessageEvent.self, from: $0.frame.payload) }
    }

    @Test func erasureTakesTheMessagesBeforeTheCutoffAndLeavesTombstonesWithTheBodysHash() throws {
        let fileSystem = SimulatedFileSystem()
        let archive = try archive(fileSystem, count: 10)
        let plan = try archive.planErasure(after: 0, through: 10, before: ts(5), limit: 100, now: 42)
        #expect(plan.range == 1...4)
        #expect(plan.through == 4)
        #expect(plan.nextTs == ts(5))
        try archive.commit(plan, after: 0)

        let read = try events(archive.read(1...10))
        #expect(read.map(\.seq) == Array(1...10))
        #expect(read.map(\.kind) == Array(repeating: .erased, count: 4) + Array(repeating: .text, count: 6))
        for event in read.prefix(4) {
            #expect(event.body == nil)
            #expect(event.bodySHA256 == Hex.encode(SHA256.hash(data: Data("secret body \(event.seq)".utf8))))
            #expect(event.erasedAt == 42)
            #expect(event.clientMsgID == "c\(event.seq)")
            #expect(event.from == "alice")
            #expect(event.ts == ts(event.seq))
        }
        #expect(read[4].body == "secret body 5")
    }

    @Test func erasedBodiesAreGoneFromTheFilesAndTheArchiveStillAppends() throws {
        let fileSystem = SimulatedFileSystem()
        let archive = try archive(fileSystem, count: 10)
        let plan = try archive.planErasure(after: 0, through: 10, before: ts(11), limit: 100, now: 42)
        try archive.commit(plan, after: 0)
        for name in try fileSystem.list(archive.directory) {
            let bytes = try fileSystem.contents(of: Path.join(archive.directory, name)) ?? []
            #expect(bytes.firstRange(of: Array("secret body".utf8)) == nil, "\(name) still holds a body")
        }
        try archive.append(storedMessages(11...12, body: "later"), after: 10)
        #expect(try events(archive.read(9...12)).map(\.kind) == [.erased, .erased, .text, .text])
        #expect(try events(archive.read(11...12)).map(\.body) == ["later 11", "later 12"])
    }

    @Test func erasureStopsAtTheLimitAndResumesAfterIt() throws {
        let fileSystem = SimulatedFileSystem()
        let archive = try archive(fileSystem, count: 10)
        let first = try archive.planErasure(after: 0, through: 10, before: ts(11), limit: 3, now: 1)
        #expect(first.range == 1...3)
        #expect(first.nextTs == nil)  // not known: the next snapshot looks again
        try archive.commit(first, after: 0)
        let second = try archive.planErasure(after: 3, through: 10, before: ts(11), limit: 1_000, now: 2)
        #expect(second.range == 4...10)
        try archive.commit(second, after: 3)
        #expect(try events(archive.read(1...10)).allSatisfy { $0.kind == .erased })
        #expect(try archive.planErasure(after: 10, through: 10, before: ts(11), limit: 10, now: 3).range == nil)
    }

    @Test func nothingOldEnoughErasesNothing() throws {
        let fileSystem = SimulatedFileSystem()
        let archive = try archive(fileSystem, count: 3)
        let plan = try archive.planErasure(after: 0, through: 3, before: ts(1), limit: 10, now: 1)
        #expect(plan.range == nil)
        #expect(plan.through == 0)
        #expect(plan.nextTs == ts(1))
        try archive.commit(plan, after: 0)
        #expect(try archive.tombstones.count() == 0)
    }

    /// Cut the power at every step of an erasure; after each, a restart finishes it (or it never began):
    /// every message reads back as itself or as its tombstone, and finished erasures left no body.
    @Test func aPowerCutAtAnyStepOfAnErasureLosesNoMessageAndLeavesNoBodyOnceFinished() throws {
        let probe = SimulatedFileSystem()
        let setup = try archive(probe, count: 6)
        let before = probe.steps
        try setup.commit(try setup.planErasure(after: 0, through: 6, before: ts(5), limit: 10, now: 7), after: 0)
        let erasureSteps = probe.steps - before

        for cut in (before + 1)...(before + erasureSteps + 1) {
            let fileSystem = SimulatedFileSystem(cutAt: cut)
            let archive = try archive(fileSystem, count: 6)
            try archive.commit(try archive.planErasure(after: 0, through: 6, before: ts(5), limit: 10, now: 7), after: 0)

            let restarted = SimulatedFileSystem(from: fileSystem.crashImage)
            let recovered = RoomArchive(roomsDirectory: Self.root, room: "r1", fileSystem: restarted)
            let erased = try recovered.finishErasure(after: 0)
            #expect(erased == 0 || erased == 4, "cut \(cut)")
            let read = try events(recovered.read(1...6))
            #expect(read.map(\.seq) == Array(1...6), "cut \(cut)")
            #expect(read.map(\.kind) == (1...6).map { $0 <= erased ? .erased : .text }, "cut \(cut)")
            let log = try restarted.contents(of: Path.join(recovered.directory, "messages.log")) ?? []
            for seq in 1...6 {
                let gone = log.firstRange(of: Array("secret body \(seq)\"".utf8)) == nil
                #expect(gone == (UInt64(seq) <= erased), "cut \(cut), seq \(seq)")
            }
        }
    }

    @Test func aTombstoneKeepsEverythingButTheBody() throws {
        let event = MessageEvent(room: "r1", seq: 3, from: "ana", fromName: "Ana", body: "héllo", ts: 10,
                                 clientMsgID: "c3", kind: .text)
        let tombstone = event.tombstone(erasedAt: 99)
        let json = try #require(String(data: FrameEncoder.event(tombstone).payload, encoding: .utf8))
        #expect(json == #"{"type":"msg","room":"r1","seq":3,"from":"ana","from_name":"Ana","ts":10,"client_msg_id":"c3","kind":"erased","body_sha256":"\#(Hex.encode(SHA256.hash(data: Data("héllo".utf8))))","erased_at":99}"#)
        #expect(tombstone.tombstone(erasedAt: 100).erasedAt == 99)  // erasing a tombstone changes nothing
    }

    @Test func roomStateReplacesTheErasedMessagesItHoldsAndKeepsTheRest() {
        var state = RoomState(id: "r1", tenant: "t1", kind: .group, title: nil, members: ["alice"], createdAt: 0)
        for message in storedMessages(1...5) { state.append(message) }
        state.archived(through: 5)
        let tombstones = storedMessages(1...3, body: "tomb")
        state.erased(through: 3, tombstones: tombstones)
        #expect(state.erasedSeq == 3)
        #expect(state.messages(1...5).inMemory.map(\.frame.payload) == (tombstones + storedMessages(4...5)).map(\.frame.payload))
        state.erased(through: 9, tombstones: [])  // never beyond what is archived
        #expect(state.erasedSeq == 5)
    }

    @Test func aHoldChangesOnlyWhenItIsTurnedTheOtherWay() {
        var state = RoomState(id: "r1", tenant: "t1", kind: .group, title: nil, members: [], createdAt: 0)
        let changes = [state.hold(false), state.hold(true), state.hold(true)]
        #expect(changes == [false, true, false])
        #expect(state.held)
        let released = state.hold(false)
        #expect(released && !state.held)
    }
}
