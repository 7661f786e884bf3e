import Foundation
import Testing
@testable import LiaisonCore

/// The MOD request state machine (open → claimed | cancelled | expired): a claim is a compare-and-set,
/// every interleaving of claim / claim / cancel / expire / decline / restart has exactly one outcome.
@Suite struct ModRequestTests {
    static let createdAt: Millis = 1_000
    static let expiresAt: Millis = 121_000
    /// A moment while the request is open.
    static let during: Millis = 60_000

    func request() -> ModRequest {
        let requester = UserRecord(tenant: "t1", user: "hana", role: .hcp, name: "Hana", areas: [])
        return ModRequest(id: "m1", tenant: "t1", requester: requester, area: "cardiology",
                          question: "Dosage of X in renal failure?", mode: .chat,
                          createdAt: Self.createdAt, expiresAt: Self.expiresAt)
    }

    /// Encodes and decodes the request, as a restart does (journal record or `mod.json` snapshot).
    func restarted(_ request: ModRequest) throws -> ModRequest {
        let data = try JSONEncoder().encode(request)
        return try JSONDecoder().decode(ModRequest.self, from: data)
    }

    // MARK: A fresh request

    @Test func aNewRequestIsOpenWithNoOffersDeclinesOrWinner() {
        let r = request()
        #expect(r.status == .open)
        #expect(r.offered.isEmpty)
        #expect(r.declined.isEmpty)
        #expect(r.claimedBy == nil)
        #expect(r.room == nil)
        #expect(r.requester == "hana")
        #expect(r.requesterName == "Hana")
        #expect(r.requesterRole == .hcp)
    }

    // MARK: Claim / claim

    @Test func firstClaimWins() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        #expect(r.status == .claimed)
        #expect(r.claimedBy == "fmd1")
    }

    @Test func secondClaimIsAlreadyClaimedAndDoesNotChangeTheWinner() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        #expect(r.claim(by: "fmd2", now: Self.during) == .alreadyClaimed)
        #expect(r.status == .claimed)
        #expect(r.claimedBy == "fmd1")
    }

    @Test func theWinnerClaimingAgainIsAlreadyClaimed() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        #expect(r.claim(by: "fmd1", now: Self.during) == .alreadyClaimed)
        #expect(r.claimedBy == "fmd1")
    }

    @Test func manyClaimsHaveExactlyOneWinner() {
        var r = request()
        let outcomes = (0..<200).map { r.claim(by: "fmd\($0)", now: Self.during) }
        #expect(outcomes.filter { $0 == .won }.count == 1)
        #expect(outcomes.first == .won)
        #expect(outcomes.dropFirst().allSatisfy { $0 == .alreadyClaimed })
        #expect(r.claimedBy == "fmd0")
    }

    @Test func aClaimAfterExpiryTimeOnAClaimedRequestIsStillAlreadyClaimed() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        #expect(r.claim(by: "fmd2", now: Self.expiresAt + 1) == .alreadyClaimed)
        #expect(r.claimedBy == "fmd1")
    }

    // MARK: Claim after cancel / expiry

    @Test func claimAfterCancelIsCancelled() {
        var r = request()
        #expect(r.cancel() == true)
        #expect(r.claim(by: "fmd1", now: Self.during) == .cancelled)
        #expect(r.status == .cancelled)
        #expect(r.claimedBy == nil)
    }

    @Test func claimAfterExpiryIsExpired() {
        var r = request()
        #expect(r.expire(now: Self.expiresAt) == true)
        #expect(r.claim(by: "fmd1", now: Self.during) == .expired)
        #expect(r.status == .expired)
        #expect(r.claimedBy == nil)
    }

    @Test func claimAtExpiresAtIsExpired() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.expiresAt) == .expired)
        #expect(r.claimedBy == nil)
        #expect(r.status != .claimed)
    }

    @Test func claimAfterExpiresAtIsExpired() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.expiresAt + 5_000) == .expired)
        #expect(r.claimedBy == nil)
        #expect(r.status != .claimed)
    }

    @Test func claimJustBeforeExpiresAtWins() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.expiresAt - 1) == .won)
        #expect(r.claimedBy == "fmd1")
    }

    @Test func aLateClaimDoesNotPreventTheExpiry() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.expiresAt) == .expired)
        #expect(r.expire(now: Self.expiresAt) == true)
        #expect(r.status == .expired)
    }

    // MARK: Cancel

    @Test func cancelOfAnOpenRequestSucceeds() {
        var r = request()
        #expect(r.cancel() == true)
        #expect(r.status == .cancelled)
    }

    @Test func cancelTwiceIsFalse() {
        var r = request()
        #expect(r.cancel() == true)
        #expect(r.cancel() == false)
        #expect(r.status == .cancelled)
    }

    @Test func cancelAfterClaimIsFalse() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        #expect(r.cancel() == false)
        #expect(r.status == .claimed)
        #expect(r.claimedBy == "fmd1")
    }

    @Test func cancelAfterExpiryIsFalse() {
        var r = request()
        #expect(r.expire(now: Self.expiresAt) == true)
        #expect(r.cancel() == false)
        #expect(r.status == .expired)
    }

    // MARK: Expire

    @Test func expireWhenDueSucceeds() {
        var r = request()
        #expect(r.expire(now: Self.expiresAt) == true)
        #expect(r.status == .expired)
    }

    @Test func expireBeforeDueIsFalse() {
        var r = request()
        #expect(r.expire(now: Self.expiresAt - 1) == false)
        #expect(r.status == .open)
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
    }

    @Test func expireAfterClaimIsFalse() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        #expect(r.expire(now: Self.expiresAt + 1) == false)
        #expect(r.status == .claimed)
        #expect(r.claimedBy == "fmd1")
    }

    @Test func expireAfterCancelIsFalse() {
        var r = request()
        #expect(r.cancel() == true)
        #expect(r.expire(now: Self.expiresAt) == false)
        #expect(r.status == .cancelled)
    }

    @Test func expireTwiceIsFalse() {
        var r = request()
        #expect(r.expire(now: Self.expiresAt) == true)
        #expect(r.expire(now: Self.expiresAt + 1) == false)
        #expect(r.status == .expired)
    }

    // MARK: Offer / decline

    @Test func offerRecordsTheOfferedFMDs() {
        var r = request()
        #expect(r.offer(to: ["fmd1", "fmd2"]) == ["fmd1", "fmd2"])
        #expect(r.offered == ["fmd1", "fmd2"])
        #expect(r.offer(to: ["fmd3"]) == ["fmd3"])
        #expect(r.offered == ["fmd1", "fmd2", "fmd3"])
    }

    @Test func anOpenRequestIsOfferedToAnyoneWhoHasNotDeclined() {
        let r = request()
        #expect(r.isOffered(to: "fmd1"))
    }

    @Test func declineThenIsOfferedIsFalse() {
        var r = request()
        _ = r.offer(to: ["fmd1", "fmd2"])
        #expect(r.decline(by: "fmd1") == true)
        #expect(!r.isOffered(to: "fmd1"))
        #expect(r.isOffered(to: "fmd2"))
        #expect(r.declined == ["fmd1"])
        #expect(r.status == .open)
    }

    @Test func declineTwiceIsFalseTheSecondTime() {
        var r = request()
        #expect(r.decline(by: "fmd1") == true)
        #expect(r.decline(by: "fmd1") == false)
        #expect(r.declined == ["fmd1"])
    }

    @Test func offerSkipsDecliners() {
        var r = request()
        #expect(r.decline(by: "fmd2") == true)
        #expect(r.offer(to: ["fmd1", "fmd2", "fmd3"]) == ["fmd1", "fmd3"])
        #expect(r.offered == ["fmd1", "fmd3"])
        #expect(r.offer(to: ["fmd2"]).isEmpty)
        #expect(!r.offered.contains("fmd2"))
    }

    @Test func declineByEveryOfferedFMDDoesNotCloseTheRequest() {
        var r = request()
        _ = r.offer(to: ["fmd1", "fmd2"])
        #expect(r.decline(by: "fmd1") == true)
        #expect(r.decline(by: "fmd2") == true)
        #expect(r.status == .open)
        #expect(r.isOffered(to: "fmd3"))
        #expect(r.claim(by: "fmd3", now: Self.during) == .won)
    }

    @Test func declineOnAClaimedRequestIsFalse() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        #expect(r.decline(by: "fmd2") == false)
        #expect(r.declined.isEmpty)
    }

    @Test func declineOnACancelledRequestIsFalse() {
        var r = request()
        #expect(r.cancel() == true)
        #expect(r.decline(by: "fmd1") == false)
        #expect(r.declined.isEmpty)
    }

    @Test func declineOnAnExpiredRequestIsFalse() {
        var r = request()
        #expect(r.expire(now: Self.expiresAt) == true)
        #expect(r.decline(by: "fmd1") == false)
        #expect(r.declined.isEmpty)
    }

    @Test func aClosedRequestIsOfferedToNobody() {
        var claimed = request()
        #expect(claimed.claim(by: "fmd1", now: Self.during) == .won)
        var cancelled = request()
        #expect(cancelled.cancel() == true)
        var expired = request()
        #expect(expired.expire(now: Self.expiresAt) == true)
        for r in [claimed, cancelled, expired] {
            #expect(!r.isOffered(to: "fmd1"))
            #expect(!r.isOffered(to: "fmd2"))
        }
    }

    @Test func aDeclinerCanStillClaim() {
        // Declining only stops offers; the state machine does not refuse the claim.
        var r = request()
        #expect(r.decline(by: "fmd1") == true)
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
    }

    // MARK: Room

    @Test func openedRecordsTheRoom() {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        r.opened(room: "room-42")
        #expect(r.room == "room-42")
        #expect(r.status == .claimed)
    }

    // MARK: Restart (Codable round trip)

    @Test func codableRoundTripPreservesAnOpenRequest() throws {
        var r = request()
        _ = r.offer(to: ["fmd1", "fmd2", "fmd3"])
        #expect(r.decline(by: "fmd2") == true)
        let back = try restarted(r)
        #expect(back == r)
        #expect(back.status == .open)
        #expect(back.offered == ["fmd1", "fmd2", "fmd3"])
        #expect(back.declined == ["fmd2"])
        #expect(back.claimedBy == nil)
        #expect(back.room == nil)
        #expect(back.id == "m1")
        #expect(back.tenant == "t1")
        #expect(back.area == "cardiology")
        #expect(back.question == "Dosage of X in renal failure?")
        #expect(back.mode == .chat)
        #expect(back.requesterRole == .hcp)
        #expect(back.createdAt == Self.createdAt)
        #expect(back.expiresAt == Self.expiresAt)
        #expect(!back.isOffered(to: "fmd2"))
        #expect(back.isOffered(to: "fmd1"))
    }

    @Test func codableRoundTripPreservesAClaimedRequest() throws {
        var r = request()
        _ = r.offer(to: ["fmd1", "fmd2"])
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        r.opened(room: "room-42")
        let back = try restarted(r)
        #expect(back == r)
        #expect(back.status == .claimed)
        #expect(back.claimedBy == "fmd1")
        #expect(back.room == "room-42")
        #expect(back.offered == ["fmd1", "fmd2"])
    }

    @Test func codableRoundTripPreservesCancelledAndExpired() throws {
        var cancelled = request()
        #expect(cancelled.cancel() == true)
        var expired = request()
        #expect(expired.expire(now: Self.expiresAt) == true)
        #expect(try restarted(cancelled).status == .cancelled)
        #expect(try restarted(expired).status == .expired)
    }

    @Test func restartOfAnOpenRequestThenClaimWinsExactlyOnce() throws {
        var r = request()
        _ = r.offer(to: ["fmd1", "fmd2"])
        var back = try restarted(r)
        #expect(back.claim(by: "fmd2", now: Self.during) == .won)
        #expect(back.claim(by: "fmd1", now: Self.during) == .alreadyClaimed)
        #expect(back.claimedBy == "fmd2")
    }

    @Test func restartOfAClaimedRequestThenClaimIsAlreadyClaimed() throws {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        var back = try restarted(r)
        #expect(back.claim(by: "fmd2", now: Self.during) == .alreadyClaimed)
        #expect(back.claim(by: "fmd1", now: Self.during) == .alreadyClaimed)
        #expect(back.claimedBy == "fmd1")
    }

    @Test func restartOfAClaimedRequestTwiceNeverProducesASecondWinner() throws {
        var r = request()
        #expect(r.claim(by: "fmd1", now: Self.during) == .won)
        var back = try restarted(try restarted(r))
        #expect(back.claim(by: "fmd2", now: Self.during) == .alreadyClaimed)
        #expect(back.cancel() == false)
        #expect(back.expire(now: Self.expiresAt) == false)
        #expect(back.claimedBy == "fmd1")
    }

    @Test func restartOfACancelledRequestThenClaimIsCancelled() throws {
        var r = request()
        #expect(r.cancel() == true)
        var back = try restarted(r)
        #expect(back.claim(by: "fmd1", now: Self.during) == .cancelled)
    }

    @Test func restartOfAnExpiredRequestThenClaimIsExpired() throws {
        var r = request()
        #expect(r.expire(now: Self.expiresAt) == true)
        var back = try restarted(r)
        #expect(back.claim(by: "fmd1", now: Self.during) == .expired)
    }

    @Test func restartKeepsDeclinesOutOfLaterOffers() throws {
        var r = request()
        #expect(r.decline(by: "fmd1") == true)
        var back = try restarted(r)
        #expect(back.offer(to: ["fmd1", "fmd2"]) == ["fmd2"])
        #expect(!back.isOffered(to: "fmd1"))
    }

    @Test func restartOfAnOpenRequestPastItsDeadlineExpiresAndCannotBeClaimed() throws {
        var back = try restarted(request())
        #expect(back.claim(by: "fmd1", now: Self.expiresAt + 1) == .expired)
        #expect(back.expire(now: Self.expiresAt + 1) == true)
        #expect(back.claim(by: "fmd1", now: Self.during) == .expired)
    }

    @Test func theJournalRecordRoundTripsTheRequest() throws {
        var r = request()
        _ = r.offer(to: ["fmd1"])
        #expect(r.decline(by: "fmd3") == true)
        let data = try JSONEncoder().encode(ModStateRecord(request: r))
        let back = try JSONDecoder().decode(ModStateRecord.self, from: data)
        #expect(back.type == "mod.state")
        #expect(back.request == r)
    }
}
