import Testing
@testable import LiaisonCluster

/// When a standby may take the lease and when its holder must stop (`LeaseRules`, no I/O).
@Suite struct LeaseRulesTests {
    let rules = LeaseRules(duration: .seconds(3))
    let start = ContinuousClock.now

    @Test func aStandbyCreatesTheLeaseWhenNobodyHoldsIt() {
        var watch = LeaseRules.Watch()
        #expect(rules.move(seeing: nil, at: start, watch: &watch) == .create)
    }

    @Test func aStandbyWaitsWhileTheHolderRenews() {
        var watch = LeaseRules.Watch()
        for (second, revision) in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)] {
            #expect(rules.move(seeing: UInt64(revision), at: start + .seconds(second), watch: &watch) == .wait)
        }
    }

    @Test func aStandbyTakesOverOnceTheRevisionStoodStillForTheWholeDuration() {
        var watch = LeaseRules.Watch()
        #expect(rules.move(seeing: 7, at: start, watch: &watch) == .wait)
        #expect(rules.move(seeing: 7, at: start + .milliseconds(2999), watch: &watch) == .wait)
        #expect(rules.move(seeing: 7, at: start + .seconds(3), watch: &watch) == .takeOver(revision: 7))
    }

    @Test func aStandbyThatJustStartedWaitsAWholeDurationEvenForAStaleEntry() {
        var watch = LeaseRules.Watch()
        // It cannot tell how long the entry has stood still before it looked.
        #expect(rules.move(seeing: 7, at: start + .seconds(100), watch: &watch) == .wait)
        #expect(rules.move(seeing: 7, at: start + .seconds(102), watch: &watch) == .wait)
        #expect(rules.move(seeing: 7, at: start + .seconds(103), watch: &watch) == .takeOver(revision: 7))
    }

    @Test func theHolderRenewsThreeTimesPerDuration() {
        #expect(rules.renewInterval == .seconds(1))
    }
}
