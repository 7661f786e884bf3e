import Foundation
import Testing
@testable import LiaisonCore

/// The room state machine: members, the gapless message log, the resend index, the in-memory window
/// over the archive, and the per-member ack/read cursors.
@Suite struct RoomStateTests {
    func room(_ members: [String] = ["alice", "bob"]) -> RoomState {
        RoomState(id: "r1", tenant: "t1", kind: .group, title: "Team", members: members, createdAt: 1)
    }

    /// A room holding messages `1...count` from alice (client_msg_id "c<seq>").
    func room(withMessages count: UInt64) -> RoomState {
        var state = room()
        for message in storedMessages(1...count) { state.append(message) }
        return state
    }

    func seqs(_ messages: [StoredMessage]) -> [UInt64] { messages.map(\.seq) }

    // MARK: Seq

    @Test func firstMessageGetsSeqOne() {
        var state = room()
        #expect(state.lastSeq == 0)
        #expect(state.nextSeq == 1)
        state.append(storedMessage(1))
        #expect(state.lastSeq == 1)
        #expect(state.nextSeq == 2)
        #expect(state.message(1)?.seq == 1)
    }

    @Test func seqsAreGaplessFromOne() {
        let state = room(withMessages: 5)
        #expect(state.lastSeq == 5)
        #expect(seqs(state.messages(1...5).inMemory) == [1, 2, 3, 4, 5])
    }

    @Test func appendIgnoresASeqThatIsNotNext() {
        var state = room(withMessages: 2)
        state.append(storedMessage(4))
        #expect(state.lastSeq == 2)
        #expect(state.message(4) == nil)
        #expect(state.message(3) == nil)
        state.append(storedMessage(3))
        #expect(state.lastSeq == 3)
    }

    @Test func appendOnAnEmptyRoomIgnoresSeqsOtherThanOne() {
        var state = room()
        state.append(storedMessage(2))
        #expect(state.lastSeq == 0)
        #expect(state.messages(1...10).inMemory.isEmpty)
    }

    @Test func replayingAnAppliedSeqIsANoOp() {
        var state = room(withMessages: 3)
        state.append(storedMessage(2, from: "bob", clientMsgID: "other", body: "a replayed duplicate"))
        #expect(state.lastSeq == 3)
        #expect(state.message(2)?.from == "alice")
        #expect(state.message(2)?.clientMsgID == "c2")
        #expect(state.resendCandidate(from: "bob", clientMsgID: "other") == nil)
        #expect(seqs(state.messages(1...3).inMemory) == [1, 2, 3])
    }

    // MARK: Membership

    @Test func initKeepsMembersInOrderWithoutDuplicates() {
        let state = room(["alice", "bob", "alice", "carol", "bob"])
        #expect(state.members == ["alice", "bob", "carol"])
    }

    @Test func joinOfANewUserReturnsTrueAndAppendsThem() {
        var state = room()
        let joined = state.join("carol")
        #expect(joined)
        #expect(state.members == ["alice", "bob", "carol"])
        #expect(state.isMember("carol"))
    }

    @Test func joinOfAMemberReturnsFalseAndChangesNothing() {
        var state = room()
        let joined = state.join("alice")
        #expect(!joined)
        #expect(state.members == ["alice", "bob"])
    }

    @Test func leaveOfAMemberReturnsTrueAndKeepsTheOthersInOrder() {
        var state = room(["alice", "bob", "carol", "dave"])
        let left = state.leave("bob")
        #expect(left)
        #expect(state.members == ["alice", "carol", "dave"])
        #expect(!state.isMember("bob"))
    }

    @Test func leaveOfANonMemberReturnsFalse() {
        var state = room()
        let left = state.leave("mallory")
        #expect(!left)
        #expect(state.members == ["alice", "bob"])
    }

    @Test func rejoinAfterLeavingAppendsAtTheEnd() {
        var state = room(["alice", "bob", "carol"])
        let left = state.leave("alice")
        #expect(left)
        let joined = state.join("alice")
        #expect(joined)
        #expect(state.members == ["bob", "carol", "alice"])
    }

    // MARK: Resend

    @Test func resendCandidateIsTheSeqOfTheFirstMessageBySenderAndClientMsgID() {
        var state = room()
        state.append(storedMessage(1, from: "alice", clientMsgID: "m-1"))
        state.append(storedMessage(2, from: "bob", clientMsgID: "m-2"))
        #expect(state.resendCandidate(from: "alice", clientMsgID: "m-1") == 1)
        #expect(state.resendCandidate(from: "bob", clientMsgID: "m-2") == 2)
    }

    @Test func sameClientMsgIDFromAnotherSenderIsNotAResend() {
        var state = room()
        state.append(storedMessage(1, from: "alice", clientMsgID: "m-1"))
        #expect(state.resendCandidate(from: "bob", clientMsgID: "m-1") == nil)
        state.append(storedMessage(2, from: "bob", clientMsgID: "m-1"))
        #expect(state.resendCandidate(from: "alice", clientMsgID: "m-1") == 1)
        #expect(state.resendCandidate(from: "bob", clientMsgID: "m-1") == 2)
    }

    @Test func unknownClientMsgIDIsNotAResend() {
        let state = room(withMessages: 3)
        #expect(state.resendCandidate(from: "alice", clientMsgID: "never-sent") == nil)
    }

    // MARK: Reading the window

    @Test func messagesReturnsTheInMemoryRangeOldestFirst() {
        let state = room(withMessages: 10)
        let (inMemory, firstMissing) = state.messages(3...7)
        #expect(seqs(inMemory) == [3, 4, 5, 6, 7])
        #expect(firstMissing == nil)
    }

    @Test func messagesClampsTheRangeToOneThroughLastSeq() {
        let state = room(withMessages: 4)
        let (inMemory, firstMissing) = state.messages(0...100)
        #expect(seqs(inMemory) == [1, 2, 3, 4])
        #expect(firstMissing == nil)
    }

    @Test func messagesAboveLastSeqAreNothing() {
        let state = room(withMessages: 4)
        let (inMemory, firstMissing) = state.messages(5...9)
        #expect(inMemory.isEmpty)
        #expect(firstMissing == nil)
    }

    @Test func messagesReportsTheFirstMissingSeqBelowTheWindow() {
        var state = room(withMessages: 10)
        state.archived(through: 10)
        state.trim(keeping: 4)  // window 7...10
        let (inMemory, firstMissing) = state.messages(3...8)
        #expect(seqs(inMemory) == [7, 8])
        #expect(firstMissing == 3)
    }

    @Test func messagesEntirelyBelowTheWindowReportsItsLowerBound() {
        var state = room(withMessages: 10)
        state.archived(through: 10)
        state.trim(keeping: 4)
        let (inMemory, firstMissing) = state.messages(2...5)
        #expect(inMemory.isEmpty)
        #expect(firstMissing == 2)
    }

    // MARK: Archive and trim

    @Test func unarchivedListsTheMessagesAboveArchivedSeq() {
        var state = room(withMessages: 6)
        #expect(seqs(state.unarchived) == [1, 2, 3, 4, 5, 6])
        state.archived(through: 4)
        #expect(state.archivedSeq == 4)
        #expect(seqs(state.unarchived) == [5, 6])
        state.archived(through: 6)
        #expect(state.unarchived.isEmpty)
    }

    @Test func archivedThroughIsClampedToLastSeqAndNeverMovesDown() {
        var state = room(withMessages: 5)
        state.archived(through: 9)
        #expect(state.archivedSeq == 5)
        state.archived(through: 2)
        #expect(state.archivedSeq == 5)
    }

    @Test func trimNeverDropsUnarchivedMessages() {
        var state = room(withMessages: 10)
        state.trim(keeping: 2)
        #expect(seqs(state.messages(1...10).inMemory) == Array(1...10))
        state.archived(through: 3)
        state.trim(keeping: 2)
        let (inMemory, firstMissing) = state.messages(1...10)
        #expect(seqs(inMemory) == Array(4...10))
        #expect(firstMissing == 1)
    }

    @Test func trimDropsArchivedMessagesBeyondRetention() {
        var state = room(withMessages: 10)
        state.archived(through: 10)
        state.trim(keeping: 3)
        let (inMemory, firstMissing) = state.messages(1...10)
        #expect(seqs(inMemory) == [8, 9, 10])
        #expect(firstMissing == 1)
        #expect(state.message(7) == nil)
        #expect(state.lastSeq == 10)
    }

    @Test func trimKeepsEverythingWithinRetention() {
        var state = room(withMessages: 5)
        state.archived(through: 5)
        state.trim(keeping: 5)
        #expect(seqs(state.messages(1...5).inMemory) == [1, 2, 3, 4, 5])
    }

    /// Dropping a message from memory keeps its resend entry: a client may resend an old
    /// `client_msg_id` after the message left the window (the caller confirms the candidate).
    @Test func trimKeepsTheResendEntriesOfDroppedMessages() {
        var state = room(withMessages: 6)
        state.archived(through: 6)
        state.trim(keeping: 2)
        #expect(state.message(4) == nil)
        #expect(state.resendCandidate(from: "alice", clientMsgID: "c4") == 4)
        #expect(state.resendCandidate(from: "alice", clientMsgID: "c1") == 1)
        #expect(state.resendCandidate(from: "alice", clientMsgID: "c6") == 6)
    }

    @Test func appendAfterTrimmingEverythingContinuesTheLog() {
        var state = room(withMessages: 3)
        state.archived(through: 3)
        state.trim(keeping: 0)
        #expect(state.messages(1...3).inMemory.isEmpty)
        state.append(storedMessage(4))
        #expect(state.lastSeq == 4)
        let (inMemory, firstMissing) = state.messages(1...4)
        #expect(seqs(inMemory) == [4])
        #expect(firstMissing == 1)
    }

    @Test func prependPutsArchivedMessagesBackInFront() {
        var state = room(withMessages: 10)
        state.archived(through: 10)
        state.trim(keeping: 3)  // window 8...10
        state.prepend(storedMessages(4...7))
        let (inMemory, firstMissing) = state.messages(1...10)
        #expect(seqs(inMemory) == Array(4...10))
        #expect(firstMissing == 1)
        #expect(state.message(4)?.clientMsgID == "c4")
    }

    @Test func prependIndexesTheResendEntriesOfTheMessagesPutBack() {
        var state = room()
        state.restore(lastSeq: 5, acked: [:], read: [:])
        #expect(state.resendCandidate(from: "alice", clientMsgID: "c5") == nil)
        state.prepend(storedMessages(3...5))
        #expect(state.resendCandidate(from: "alice", clientMsgID: "c5") == 5)
        #expect(state.resendCandidate(from: "alice", clientMsgID: "c3") == 3)
        #expect(state.resendCandidate(from: "alice", clientMsgID: "c2") == nil)
    }

    @Test func indexResendsAddsEntriesUpToLastSeqOnly() {
        var state = room()
        state.restore(lastSeq: 5, acked: [:], read: [:])
        state.indexResends([
            (hash: ResendKey.hash(from: "alice", clientMsgID: "old"), seq: 2),
            (hash: ResendKey.hash(from: "bob", clientMsgID: "beyond"), seq: 6),
        ])
        #expect(state.resendCandidate(from: "alice", clientMsgID: "old") == 2)
        #expect(state.resendCandidate(from: "bob", clientMsgID: "beyond") == nil)
    }

    @Test func laterIndexedEntryOfTheSameKeyWins() {
        var state = room()
        state.restore(lastSeq: 9, acked: [:], read: [:])
        let key = ResendKey.hash(from: "alice", clientMsgID: "m")
        state.indexResends([(hash: key, seq: 3), (hash: key, seq: 8)])
        #expect(state.resendCandidate(from: "alice", clientMsgID: "m") == 8)
    }

    @Test func resendKeyDependsOnBothSenderAndClientMsgID() {
        #expect(ResendKey.hash(from: "alice", clientMsgID: "m") == ResendKey.hash(from: "alice", clientMsgID: "m"))
        #expect(ResendKey.hash(from: "alice", clientMsgID: "m") != ResendKey.hash(from: "bob", clientMsgID: "m"))
        #expect(ResendKey.hash(from: "alice", clientMsgID: "m") != ResendKey.hash(from: "alice", clientMsgID: "n"))
        // The separator keeps the split between sender and id.
        #expect(ResendKey.hash(from: "ab", clientMsgID: "c") != ResendKey.hash(from: "a", clientMsgID: "bc"))
    }

    @Test func prependThatDoesNotEndAtTheWindowIsIgnored() {
        var state = room(withMessages: 10)
        state.archived(through: 10)
        state.trim(keeping: 3)  // window 8...10
        state.prepend(storedMessages(3...5))
        let (inMemory, firstMissing) = state.messages(1...10)
        #expect(seqs(inMemory) == [8, 9, 10])
        #expect(firstMissing == 1)
    }

    @Test func prependAfterRestoreFillsTheEmptyWindow() {
        var state = room()
        state.restore(lastSeq: 5, acked: [:], read: [:])
        state.prepend(storedMessages(3...5))
        let (inMemory, firstMissing) = state.messages(1...5)
        #expect(seqs(inMemory) == [3, 4, 5])
        #expect(firstMissing == 1)
        state.append(storedMessage(6))
        #expect(seqs(state.messages(3...6).inMemory) == [3, 4, 5, 6])
    }

    // MARK: Cursors

    @Test func ackMovesUpAndReportsIt() {
        var state = room(withMessages: 5)
        let ackMoved = state.ack("bob", through: 2)
        #expect(ackMoved)
        #expect(state.acked["bob"] == 2)
        let ackMoved2 = state.ack("bob", through: 4)
        #expect(ackMoved2)
        #expect(state.acked["bob"] == 4)
    }

    @Test func ackNeverMovesDownAndReportsNoMove() {
        var state = room(withMessages: 5)
        state.ack("bob", through: 4)
        let ackMoved = state.ack("bob", through: 2)
        #expect(!ackMoved)
        let ackMoved2 = state.ack("bob", through: 4)
        #expect(!ackMoved2)
        #expect(state.acked["bob"] == 4)
    }

    @Test func ackIsClampedToLastSeq() {
        var state = room(withMessages: 5)
        let ackMoved = state.ack("bob", through: 99)
        #expect(ackMoved)
        #expect(state.acked["bob"] == 5)
    }

    /// `ack` documents "Returns whether it moved": a cursor already at `lastSeq` does not move.
    @Test func ackBeyondLastSeqOfACursorAtLastSeqReportsNoMove() {
        var state = room(withMessages: 5)
        state.ack("bob", through: 5)
        let ackMoved = state.ack("bob", through: 9)
        #expect(!ackMoved)
        #expect(state.acked["bob"] == 5)
    }

    @Test func ackIsPerUser() {
        var state = room(withMessages: 5)
        state.ack("bob", through: 3)
        #expect(state.acked["alice"] == nil)
        let ackMoved = state.ack("alice", through: 1)
        #expect(ackMoved)
        #expect(state.acked["bob"] == 3)
    }

    @Test func markReadMovesUpAndReportsIt() {
        var state = room(withMessages: 5)
        let readMoved = state.markRead("bob", through: 2)
        #expect(readMoved)
        #expect(state.read["bob"] == 2)
        let readMoved2 = state.markRead("bob", through: 5)
        #expect(readMoved2)
        #expect(state.read["bob"] == 5)
    }

    @Test func markReadNeverMovesDownAndReportsNoMove() {
        var state = room(withMessages: 5)
        state.markRead("bob", through: 4)
        let readMoved = state.markRead("bob", through: 1)
        #expect(!readMoved)
        let readMoved2 = state.markRead("bob", through: 4)
        #expect(!readMoved2)
        #expect(state.read["bob"] == 4)
    }

    @Test func markReadIsClampedToLastSeq() {
        var state = room(withMessages: 5)
        let readMoved = state.markRead("bob", through: 50)
        #expect(readMoved)
        #expect(state.read["bob"] == 5)
    }

    /// `markRead` documents "Returns whether it moved": a cursor already at `lastSeq` does not move.
    @Test func markReadBeyondLastSeqOfACursorAtLastSeqReportsNoMove() {
        var state = room(withMessages: 5)
        state.markRead("bob", through: 5)
        let readMoved = state.markRead("bob", through: 9)
        #expect(!readMoved)
        #expect(state.read["bob"] == 5)
    }

    @Test func unreadIsLastSeqMinusRead() {
        var state = room(withMessages: 7)
        #expect(state.unread("bob") == 7)
        state.markRead("bob", through: 3)
        #expect(state.unread("bob") == 4)
        state.markRead("bob", through: 7)
        #expect(state.unread("bob") == 0)
        state.append(storedMessage(8, from: "carol"))
        #expect(state.unread("bob") == 1)
    }

    @Test func unreadIsNotChangedByAck() {
        var state = room(withMessages: 4)
        state.ack("bob", through: 4)
        #expect(state.unread("bob") == 4)
    }

    @Test func sendersReadCursorMovesToTheirOwnMessage() {
        var state = room(withMessages: 3)  // from alice
        #expect(state.read["alice"] == 3)
        #expect(state.unread("alice") == 0)
        state.append(storedMessage(4, from: "bob"))
        #expect(state.read["bob"] == 4)
        #expect(state.read["alice"] == 3)
        #expect(state.unread("alice") == 1)
        #expect(state.acked["bob"] == nil)
    }

    @Test func summaryCarriesLastSeqAndTheUsersUnread() {
        var state = room(withMessages: 5)
        state.markRead("bob", through: 2)
        let summary = state.summary(for: "bob")
        #expect(summary.room == "r1")
        #expect(summary.kind == .group)
        #expect(summary.title == "Team")
        #expect(summary.members == ["alice", "bob"])
        #expect(summary.lastSeq == 5)
        #expect(summary.unread == 3)
    }

    // MARK: Restore

    @Test func restoreSetsArchivedSeqToLastSeqWithAnEmptyWindow() {
        var state = room()
        state.restore(lastSeq: 12, acked: ["bob": 10], read: ["bob": 11, "alice": 12])
        #expect(state.lastSeq == 12)
        #expect(state.archivedSeq == 12)
        #expect(state.acked == ["bob": 10])
        #expect(state.read == ["bob": 11, "alice": 12])
        #expect(state.unarchived.isEmpty)
        let (inMemory, firstMissing) = state.messages(1...12)
        #expect(inMemory.isEmpty)
        #expect(firstMissing == 1)
        #expect(state.message(12) == nil)
        #expect(state.unread("bob") == 1)
    }

    @Test func appendAfterRestoreContinuesAtLastSeqPlusOne() {
        var state = room()
        state.restore(lastSeq: 12, acked: [:], read: [:])
        state.append(storedMessage(1))
        #expect(state.lastSeq == 12)
        state.append(storedMessage(13))
        #expect(state.lastSeq == 13)
        #expect(seqs(state.unarchived) == [13])
        let (inMemory, firstMissing) = state.messages(10...13)
        #expect(seqs(inMemory) == [13])
        #expect(firstMissing == 10)
    }
}
