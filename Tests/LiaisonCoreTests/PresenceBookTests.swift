import Testing
@testable import LiaisonCore

/// The presence state machine, driven input by input; every expectation is on the actions it returns.
@Suite struct PresenceBookTests {
    let alice = UserKey(tenant: "t1", user: "alice")
    let bob = UserKey(tenant: "t1", user: "bob")
    let watcher = SessionID(raw: 900)
    let otherWatcher = SessionID(raw: 901)

    /// The single publish in `actions`, if that is all there is.
    func onlyPublish(_ actions: [PresenceBook.Action]) -> (UserKey, PresenceInfo, [SessionID])? {
        guard actions.count == 1, case .publish(let user, let info, let watchers) = actions[0] else { return nil }
        return (user, info, watchers)
    }

    /// The single armGrace in `actions`, if that is all there is.
    func onlyGrace(_ actions: [PresenceBook.Action]) -> (UserKey, UInt64)? {
        guard actions.count == 1, case .armGrace(let user, let generation) = actions[0] else { return nil }
        return (user, generation)
    }

    /// A book where `watcher` watches alice.
    func watchedBook() -> PresenceBook {
        var book = PresenceBook()
        _ = book.watch([alice], session: watcher)
        return book
    }

    @Test func connectPublishesOnlineToWatchers() throws {
        var book = watchedBook()
        let published = try #require(onlyPublish(book.connect(alice, device: "phone", session: SessionID(raw: 1), now: 1_000)))
        #expect(published.0 == alice)
        #expect(published.1 == PresenceInfo(user: "alice", status: .online, note: nil, devices: 1, lastSeen: 1_000))
        #expect(published.2 == [watcher])
    }

    @Test func connectPublishesToEveryWatcherSorted() throws {
        var book = PresenceBook()
        _ = book.watch([alice], session: otherWatcher)
        _ = book.watch([alice], session: watcher)
        let published = try #require(onlyPublish(book.connect(alice, device: "phone", session: SessionID(raw: 1), now: 1)))
        #expect(published.2 == [watcher, otherWatcher])
    }

    @Test func connectWithoutWatchersStillPublishesToNoOne() throws {
        var book = PresenceBook()
        let published = try #require(onlyPublish(book.connect(alice, device: "phone", session: SessionID(raw: 1), now: 1)))
        #expect(published.2.isEmpty)
        #expect(book.info(alice).status == .online)
    }

    @Test func onlineOnAnyDeviceBeatsAwayAndBusy() {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 0)
        _ = book.set(alice, device: "a", session: SessionID(raw: 1), status: .busy, note: nil, now: 1)
        _ = book.connect(alice, device: "b", session: SessionID(raw: 2), now: 0)
        _ = book.set(alice, device: "b", session: SessionID(raw: 2), status: .away, note: nil, now: 2)
        _ = book.connect(alice, device: "c", session: SessionID(raw: 3), now: 0)
        _ = book.set(alice, device: "c", session: SessionID(raw: 3), status: .online, note: nil, now: 3)
        #expect(book.info(alice).status == .online)
    }

    @Test func awayBeatsBusy() {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 0)
        _ = book.set(alice, device: "a", session: SessionID(raw: 1), status: .busy, note: nil, now: 1)
        #expect(book.info(alice).status == .busy)
        _ = book.connect(alice, device: "b", session: SessionID(raw: 2), now: 0)
        _ = book.set(alice, device: "b", session: SessionID(raw: 2), status: .away, note: nil, now: 2)
        #expect(book.info(alice).status == .away)
    }

    @Test func dndOnAnyDeviceWins() {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        _ = book.connect(alice, device: "b", session: SessionID(raw: 2), now: 0)
        _ = book.set(alice, device: "b", session: SessionID(raw: 2), status: .dnd, note: nil, now: 2)
        #expect(book.info(alice).status == .dnd)
        _ = book.connect(alice, device: "c", session: SessionID(raw: 3), now: 3)
        #expect(book.info(alice).status == .dnd)
    }

    @Test func statusFallsBackWhenTheBestDeviceLeaves() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 0)
        _ = book.set(alice, device: "a", session: SessionID(raw: 1), status: .away, note: nil, now: 1)
        _ = book.connect(alice, device: "b", session: SessionID(raw: 2), now: 2)
        let published = try #require(onlyPublish(book.disconnect(alice, device: "b", session: SessionID(raw: 2), now: 3)))
        #expect(published.1.status == .away)
        #expect(published.1.devices == 1)
    }

    @Test func setStatusPublishesTheChange() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let published = try #require(onlyPublish(
            book.set(alice, device: "a", session: SessionID(raw: 1), status: .busy, note: nil, now: 2)))
        #expect(published.1.status == .busy)
        #expect(published.1.devices == 1)
        #expect(published.2 == [watcher])
    }

    @Test func settingTheSameStatusAgainPublishesNothing() {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        #expect(book.set(alice, device: "a", session: SessionID(raw: 1), status: .online, note: nil, now: 2).isEmpty)
    }

    @Test func noteIsSet() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let published = try #require(onlyPublish(
            book.set(alice, device: "a", session: SessionID(raw: 1), status: .online, note: "in clinic", now: 2)))
        #expect(published.1.note == "in clinic")
        #expect(book.info(alice).note == "in clinic")
    }

    @Test func noteIsUnchangedWhenOmitted() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 0)
        _ = book.set(alice, device: "a", session: SessionID(raw: 1), status: .online, note: "in clinic", now: 1)
        let published = try #require(onlyPublish(
            book.set(alice, device: "a", session: SessionID(raw: 1), status: .away, note: nil, now: 2)))
        #expect(published.1.status == .away)
        #expect(published.1.note == "in clinic")
    }

    @Test func emptyNoteClearsIt() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 0)
        _ = book.set(alice, device: "a", session: SessionID(raw: 1), status: .online, note: "in clinic", now: 1)
        let published = try #require(onlyPublish(
            book.set(alice, device: "a", session: SessionID(raw: 1), status: .online, note: "", now: 2)))
        #expect(published.1.note == nil)
        #expect(book.info(alice).note == nil)
    }

    @Test func lastDeviceDisconnectArmsGraceWithoutPublishing() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let actions = book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 2)
        let grace = try #require(onlyGrace(actions))
        #expect(grace.0 == alice)
        // Watchers still see the user as they last heard, until the grace period runs out.
        #expect(book.info(alice).status == .online)
        #expect(book.info(alice).devices == 1)
    }

    @Test func graceExpiredWithTheCurrentGenerationPublishesOffline() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let grace = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 2_000)))
        let published = try #require(onlyPublish(book.graceExpired(alice, generation: grace.1, now: 12_000)))
        #expect(published.0 == alice)
        #expect(published.1.status == .offline)
        #expect(published.1.devices == 0)
        #expect(published.1.lastSeen == 2_000)
        #expect(published.2 == [watcher])
        #expect(book.info(alice).status == .offline)
    }

    @Test func graceExpiredTwicePublishesOnce() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let grace = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 2)))
        #expect(book.graceExpired(alice, generation: grace.1, now: 3).count == 1)
        #expect(book.graceExpired(alice, generation: grace.1, now: 4).isEmpty)
    }

    @Test func reconnectWithinGracePublishesNothingWhenUnchanged() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let grace = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 2)))
        #expect(book.connect(alice, device: "a", session: SessionID(raw: 2), now: 3).isEmpty)
        // The timer of the disconnect still fires, and must find the user back.
        #expect(book.graceExpired(alice, generation: grace.1, now: 4).isEmpty)
        #expect(book.info(alice).status == .online)
    }

    @Test func reconnectWithinGraceFromAnotherDevicePublishesNothingWhenUnchanged() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        _ = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 2)))
        #expect(book.connect(alice, device: "b", session: SessionID(raw: 2), now: 3).isEmpty)
    }

    @Test func reconnectWithinGracePublishesWhenTheStatusChanged() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 0)
        _ = book.set(alice, device: "a", session: SessionID(raw: 1), status: .away, note: nil, now: 1)
        _ = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 2)))
        let published = try #require(onlyPublish(book.connect(alice, device: "a", session: SessionID(raw: 2), now: 3)))
        #expect(published.1.status == .online)
    }

    @Test func staleGenerationDoesNothing() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let first = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 2)))
        _ = book.connect(alice, device: "a", session: SessionID(raw: 2), now: 3)
        let second = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 2), now: 4)))
        #expect(first.1 != second.1)
        #expect(book.graceExpired(alice, generation: first.1, now: 5).isEmpty)
        #expect(book.info(alice).status == .online)
        #expect(onlyPublish(book.graceExpired(alice, generation: second.1, now: 6))?.1.status == .offline)
    }

    @Test func graceExpiredForAnUnknownUserDoesNothing() {
        var book = watchedBook()
        #expect(book.graceExpired(bob, generation: 1, now: 1).isEmpty)
    }

    @Test func lateDisconnectOfAReplacedSessionChangesNothing() {
        var book = watchedBook()
        let old = SessionID(raw: 1)
        let new = SessionID(raw: 2)
        _ = book.connect(alice, device: "ipad", session: old, now: 1)
        #expect(book.connect(alice, device: "ipad", session: new, now: 2).isEmpty)
        #expect(book.disconnect(alice, device: "ipad", session: old, now: 3).isEmpty)
        #expect(book.info(alice).status == .online)
        #expect(book.info(alice).devices == 1)
        // The successor still holds the device: its own disconnect is the one that counts.
        #expect(onlyGrace(book.disconnect(alice, device: "ipad", session: new, now: 4)) != nil)
    }

    /// A replaced session may still have a `presence.set` in its mailbox when its successor has said hello.
    @Test func lateSetOfAReplacedSessionDoesNotTakeTheDeviceBack() {
        var book = watchedBook()
        let old = SessionID(raw: 1)
        let new = SessionID(raw: 2)
        _ = book.connect(alice, device: "ipad", session: old, now: 1)
        _ = book.connect(alice, device: "ipad", session: new, now: 2)
        #expect(book.set(alice, device: "ipad", session: old, status: .busy, note: nil, now: 3).isEmpty)
        #expect(book.info(alice).status == .online)
        // The successor's disconnect must still be the one that ends the device.
        #expect(onlyGrace(book.disconnect(alice, device: "ipad", session: new, now: 4)) != nil)
    }

    @Test func disconnectOfAnUnknownUserDoesNothing() {
        var book = watchedBook()
        #expect(book.disconnect(bob, device: "a", session: SessionID(raw: 1), now: 1).isEmpty)
    }

    @Test func watchReturnsCurrentInfos() {
        var book = PresenceBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 0)
        _ = book.set(alice, device: "a", session: SessionID(raw: 1), status: .busy, note: "surgery", now: 5_000)
        let infos = book.watch([alice], session: watcher)
        #expect(infos == [PresenceInfo(user: "alice", status: .busy, note: "surgery", devices: 1, lastSeen: 5_000)])
    }

    @Test func watchReturnsOfflineWithoutLastSeenForNeverSeenUsers() {
        var book = PresenceBook()
        let infos = book.watch([bob], session: watcher)
        #expect(infos == [PresenceInfo(user: "bob", status: .offline, note: nil, devices: 0, lastSeen: nil)])
    }

    @Test func watchReturnsInfosInRequestOrder() {
        var book = PresenceBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let infos = book.watch([bob, alice], session: watcher)
        #expect(infos.map(\.user) == ["bob", "alice"])
        #expect(infos.map(\.status) == [.offline, .online])
    }

    @Test func watchReturnsOfflineWithLastSeenAfterGrace() throws {
        var book = PresenceBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let grace = try #require(onlyGrace(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 7_000)))
        _ = book.graceExpired(alice, generation: grace.1, now: 17_000)
        let infos = book.watch([alice], session: watcher)
        #expect(infos == [PresenceInfo(user: "alice", status: .offline, note: nil, devices: 0, lastSeen: 7_000)])
    }

    @Test func sameUserIdInAnotherTenantIsAnotherUser() {
        var book = PresenceBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let otherAlice = UserKey(tenant: "t2", user: "alice")
        #expect(book.watch([otherAlice], session: watcher).first?.status == .offline)
    }

    @Test func unwatchStopsPublishesToThatSession() throws {
        var book = PresenceBook()
        _ = book.watch([alice], session: watcher)
        _ = book.watch([alice], session: otherWatcher)
        book.unwatch([alice], session: watcher)
        let published = try #require(onlyPublish(book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)))
        #expect(published.2 == [otherWatcher])
    }

    @Test func unwatchOfOneUserKeepsTheOthers() throws {
        var book = PresenceBook()
        _ = book.watch([alice, bob], session: watcher)
        book.unwatch([alice], session: watcher)
        #expect(onlyPublish(book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1))?.2 == [])
        #expect(onlyPublish(book.connect(bob, device: "a", session: SessionID(raw: 2), now: 1))?.2 == [watcher])
    }

    @Test func dropWatcherStopsPublishesToThatSession() throws {
        var book = PresenceBook()
        _ = book.watch([alice, bob], session: watcher)
        _ = book.watch([alice], session: otherWatcher)
        book.dropWatcher(watcher)
        #expect(onlyPublish(book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1))?.2 == [otherWatcher])
        #expect(onlyPublish(book.connect(bob, device: "a", session: SessionID(raw: 2), now: 1))?.2 == [])
    }

    @Test func secondDeviceConnectPublishesTheDeviceCount() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        let published = try #require(onlyPublish(book.connect(alice, device: "b", session: SessionID(raw: 2), now: 2)))
        #expect(published.1.status == .online)
        #expect(published.1.devices == 2)
    }

    @Test func nonLastDeviceDisconnectPublishesTheDeviceCount() throws {
        var book = watchedBook()
        _ = book.connect(alice, device: "a", session: SessionID(raw: 1), now: 1)
        _ = book.connect(alice, device: "b", session: SessionID(raw: 2), now: 2)
        let published = try #require(onlyPublish(book.disconnect(alice, device: "a", session: SessionID(raw: 1), now: 3)))
        #expect(published.1.status == .online)
        #expect(published.1.devices == 1)
        #expect(published.1.lastSeen == 3)
    }

    @Test func theLastDeviceLeavingInDndIsRememberedUntilADeviceReturns() {
        var book = PresenceBook()
        let phone = SessionID(raw: 1), laptop = SessionID(raw: 2)
        _ = book.connect(alice, device: "phone", session: phone, now: 1)
        _ = book.connect(alice, device: "laptop", session: laptop, now: 1)
        _ = book.set(alice, device: "laptop", session: laptop, status: .dnd, note: nil, now: 2)
        _ = book.disconnect(alice, device: "laptop", session: laptop, now: 3)
        #expect(!book.leftInDoNotDisturb(alice))
        _ = book.set(alice, device: "phone", session: phone, status: .dnd, note: nil, now: 4)
        _ = book.disconnect(alice, device: "phone", session: phone, now: 5)
        #expect(book.leftInDoNotDisturb(alice))
        _ = book.connect(alice, device: "phone", session: SessionID(raw: 3), now: 6)
        #expect(!book.leftInDoNotDisturb(alice))
    }

    @Test func leavingOnlineIsNotDnd() {
        var book = PresenceBook()
        _ = book.connect(bob, device: "phone", session: SessionID(raw: 1), now: 1)
        _ = book.disconnect(bob, device: "phone", session: SessionID(raw: 1), now: 2)
        #expect(!book.leftInDoNotDisturb(bob))
    }
}
