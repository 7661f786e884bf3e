import Foundation
import Testing
@testable import LiaisonCore

/// Room records as the journal holds them, and their replay over a room state.
@Suite struct RoomRecordTests {
    func decoded(_ value: some Encodable) throws -> RoomRecord {
        try #require(RoomRecord.decode(Data(RoomRecord.encode(value))))
    }

    func room(_ members: [String] = ["alice", "bob"]) -> RoomState {
        RoomState(id: "r1", tenant: "t1", kind: .group, title: nil, members: members, createdAt: 1)
    }

    /// What replay may change, compared as a whole.
    struct Observed: Equatable {
        let members: [String]
        let lastSeq: UInt64
        let acked: [String: UInt64]
        let read: [String: UInt64]
        let seqs: [UInt64]
        let archivedSeq: UInt64

        init(_ state: RoomState) {
            members = state.members
            lastSeq = state.lastSeq
            acked = state.acked
            read = state.read
            seqs = state.messages(1...max(1, state.lastSeq)).inMemory.map(\.seq)
            archivedSeq = state.archivedSeq
        }
    }

    /// The journal records of a busy room, decoded as replay sees them.
    func journal() throws -> [RoomRecord] {
        var records: [RoomRecord] = []
        records.append(try decoded(RoomRecord.Created(room: "r1", tenant: "t1", kind: .group, title: nil,
                                                      members: ["alice", "bob"], ts: 1)))
        records.append(try decoded(RoomRecord.Member(room: "r1", user: "carol", action: "joined")))
        for seq in UInt64(1)...4 {
            let from = ["alice", "bob", "carol", "alice"][Int(seq - 1)]
            let bytes = storedMessage(seq, from: from, clientMsgID: "c\(seq)").frame.payload
            records.append(try #require(RoomRecord.decode(bytes)))
        }
        records.append(try decoded(RoomRecord.Cursor(type: "msg.ack", room: "r1", user: "bob", seq: 3)))
        records.append(try decoded(RoomRecord.Cursor(type: "msg.read", room: "r1", user: "bob", seq: 2)))
        records.append(try decoded(RoomRecord.Member(room: "r1", user: "dave", action: "joined")))
        records.append(try decoded(RoomRecord.Member(room: "r1", user: "alice", action: "left")))
        records.append(try decoded(RoomRecord.Cursor(type: "msg.ack", room: "r1", user: "carol", seq: 4)))
        records.append(try decoded(RoomRecord.Member(room: "r1", user: "dave", action: "left")))
        records.append(try decoded(RoomRecord.Member(room: "r1", user: "dave", action: "joined")))
        return records
    }

    // MARK: Encoding

    @Test func createdRecordRoundTrips() throws {
        let record = try decoded(RoomRecord.Created(room: "r9", tenant: "t2", kind: .direct, title: "Pair",
                                                    members: ["alice", "bob"], ts: 1234))
        guard case .created(let created) = record else { Issue.record("decoded as \(record)"); return }
        #expect(created.type == "room.created")
        #expect(created.room == "r9")
        #expect(created.tenant == "t2")
        #expect(created.kind == .direct)
        #expect(created.title == "Pair")
        #expect(created.members == ["alice", "bob"])
        #expect(created.ts == 1234)
        #expect(record.room == "r9")
    }

    @Test func createdRecordWithoutTitleRoundTrips() throws {
        let record = try decoded(RoomRecord.Created(room: "r9", tenant: "t2", kind: .group, title: nil,
                                                    members: ["alice"], ts: 1))
        guard case .created(let created) = record else { Issue.record("decoded as \(record)"); return }
        #expect(created.title == nil)
        #expect(created.members == ["alice"])
    }

    @Test func memberRecordRoundTrips() throws {
        for action in ["joined", "left"] {
            let record = try decoded(RoomRecord.Member(room: "r3", user: "carol", action: action))
            guard case .member(let member) = record else { Issue.record("decoded as \(record)"); continue }
            #expect(member.type == "room.member")
            #expect(member.room == "r3")
            #expect(member.user == "carol")
            #expect(member.action == action)
            #expect(record.room == "r3")
        }
    }

    @Test func ackRecordRoundTrips() throws {
        let record = try decoded(RoomRecord.Cursor(type: "msg.ack", room: "r4", user: "bob", seq: 42))
        guard case .ack(let cursor) = record else { Issue.record("decoded as \(record)"); return }
        #expect(cursor.room == "r4")
        #expect(cursor.user == "bob")
        #expect(cursor.seq == 42)
        #expect(record.room == "r4")
    }

    @Test func readRecordRoundTrips() throws {
        let record = try decoded(RoomRecord.Cursor(type: "msg.read", room: "r5", user: "carol", seq: 7))
        guard case .read(let cursor) = record else { Issue.record("decoded as \(record)"); return }
        #expect(cursor.room == "r5")
        #expect(cursor.user == "carol")
        #expect(cursor.seq == 7)
        #expect(record.room == "r5")
    }

    @Test func msgEventDecodesAsAMessageOfItsRoom() throws {
        let original = storedMessage(17, room: "r6", from: "bob", clientMsgID: "abc", body: "hello")
        let record = try #require(RoomRecord.decode(original.frame.payload))
        guard case .message(let message, let room) = record else { Issue.record("decoded as \(record)"); return }
        #expect(room == "r6")
        #expect(record.room == "r6")
        #expect(message.seq == 17)
        #expect(message.from == "bob")
        #expect(message.clientMsgID == "abc")
        #expect(message.ts == original.ts)
        #expect(message.frame.payload == original.frame.payload)
    }

    @Test func msgEventWithoutClientMsgIDDecodes() throws {
        let original = storedMessage(2, room: "r6", from: "bob")
        let record = try #require(RoomRecord.decode(original.frame.payload))
        guard case .message(let message, _) = record else { Issue.record("decoded as \(record)"); return }
        #expect(message.clientMsgID == nil)
        #expect(message.seq == 2)
    }

    @Test func msgEventWithAttachmentsDecodes() throws {
        let bytes = Data(#"{"type":"msg","room":"r6","seq":3,"from":"bob","body":"see","ts":5,"kind":"text","attachments":[{"file":"f1","name":"a.png","size":3,"content_type":"image/png","sha256":"ab"}]}"#.utf8)
        let record = try #require(RoomRecord.decode(bytes))
        guard case .message(let message, let room) = record else { Issue.record("decoded as \(record)"); return }
        #expect(room == "r6")
        #expect(message.seq == 3 && message.from == "bob" && message.ts == 5 && message.clientMsgID == nil)
    }

    @Test func recordsOfOtherFeaturesOrGarbageDecodeAsNil() {
        #expect(RoomRecord.decode(Data(#"{"type":"mod.offer","room":"r1","id":"m1"}"#.utf8)) == nil)
        #expect(RoomRecord.decode(Data(#"{"type":"msg.ack","user":"bob","seq":1}"#.utf8)) == nil)
        #expect(RoomRecord.decode(Data(#"{"type":"msg","room":"r1"}"#.utf8)) == nil)
        #expect(RoomRecord.decode(Data("not json".utf8)) == nil)
        #expect(RoomRecord.decode(Data()) == nil)
    }

    // MARK: Replay

    @Test func applyReplaysAJournalOntoACreatedRoom() throws {
        var state = room()
        for record in try journal() { RoomRecord.apply(record, to: &state) }
        #expect(state.members == ["bob", "carol", "dave"])
        #expect(state.lastSeq == 4)
        #expect(state.acked == ["bob": 3, "carol": 4])
        #expect(state.read == ["alice": 4, "bob": 2, "carol": 3])
        #expect(state.resendCandidate(from: "carol", clientMsgID: "c3") == 3)
    }

    @Test func applyIsIdempotentWhenReplayedTwiceOverTheSameState() throws {
        let records = try journal()
        var state = room()
        for record in records { RoomRecord.apply(record, to: &state) }
        let once = Observed(state)
        for record in records { RoomRecord.apply(record, to: &state) }
        #expect(Observed(state) == once)
    }

    @Test func applyOverASnapshotThatAlreadyHasTheRecordsChangesNothing() throws {
        let records = try journal()
        var live = room()
        for record in records { RoomRecord.apply(record, to: &live) }
        // The snapshot of `live`, restored as start-up does, then the whole journal replayed over it.
        var restored = RoomState(id: "r1", tenant: "t1", kind: .group, title: nil, members: live.members, createdAt: 1)
        restored.restore(lastSeq: live.lastSeq, acked: live.acked, read: live.read)
        let snapshot = Observed(restored)
        for record in records { RoomRecord.apply(record, to: &restored) }
        #expect(Observed(restored) == snapshot)
    }

    @Test func applyOfAnOldCursorDoesNotMoveItBack() throws {
        var state = room()
        for message in storedMessages(1...5) { state.append(message) }
        state.ack("bob", through: 5)
        state.markRead("bob", through: 4)
        RoomRecord.apply(try decoded(RoomRecord.Cursor(type: "msg.ack", room: "r1", user: "bob", seq: 2)), to: &state)
        RoomRecord.apply(try decoded(RoomRecord.Cursor(type: "msg.read", room: "r1", user: "bob", seq: 1)), to: &state)
        #expect(state.acked["bob"] == 5)
        #expect(state.read["bob"] == 4)
    }
}
