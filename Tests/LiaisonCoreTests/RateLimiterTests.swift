import Testing
@testable import LiaisonCore

/// The token bucket, driven with explicit instants: no sleeping, no timing.
@Suite struct RateLimiterTests {
    let start = ContinuousClock.now

    func at(_ duration: Duration) -> ContinuousClock.Instant { start.advanced(by: duration) }

    /// One request at `instant` (a function, since `#expect` cannot call a mutating method).
    func take(_ limiter: inout RateLimiter, _ instant: ContinuousClock.Instant) -> Bool {
        limiter.allow(now: instant)
    }

    /// How many requests in a row are allowed at `instant`.
    func drain(_ limiter: inout RateLimiter, at instant: ContinuousClock.Instant, upTo limit: Int = 1_000) -> Int {
        var allowed = 0
        while allowed < limit, limiter.allow(now: instant) { allowed += 1 }
        return allowed
    }

    @Test func burstIsAllowedThenRefused() {
        var limiter = RateLimiter(rate: 5, burst: 10, now: start)
        for _ in 0..<10 { #expect(take(&limiter, start)) }
        #expect(!take(&limiter, start))
        #expect(!take(&limiter, start))
    }

    @Test func refusalDoesNotConsumeTokens() {
        var limiter = RateLimiter(rate: 1, burst: 1, now: start)
        #expect(take(&limiter, start))
        for _ in 0..<5 { #expect(!take(&limiter, start)) }
        #expect(take(&limiter, at(.seconds(1))))
    }

    @Test func tokensRefillAtTheRate() {
        var limiter = RateLimiter(rate: 4, burst: 4, now: start)
        #expect(drain(&limiter, at: start) == 4)
        #expect(drain(&limiter, at: at(.seconds(1))) == 4)
    }

    @Test func partialRefillAllowsOnlyWholeTokens() {
        var limiter = RateLimiter(rate: 10, burst: 10, now: start)
        #expect(drain(&limiter, at: start) == 10)
        #expect(drain(&limiter, at: at(.milliseconds(350))) == 3)
    }

    @Test func oneIntervalRefillsExactlyOneToken() {
        var limiter = RateLimiter(rate: 2, burst: 3, now: start)
        #expect(drain(&limiter, at: start) == 3)
        #expect(take(&limiter, at(.milliseconds(500))))
        #expect(!take(&limiter, at(.milliseconds(500))))
    }

    @Test func fractionsAccumulateAcrossCalls() {
        var limiter = RateLimiter(rate: 10, burst: 1, now: start)
        #expect(take(&limiter, start))
        #expect(!take(&limiter, at(.milliseconds(40))))
        #expect(!take(&limiter, at(.milliseconds(80))))
        #expect(take(&limiter, at(.milliseconds(120))))
    }

    @Test func refillIsCappedAtTheBurst() {
        var limiter = RateLimiter(rate: 100, burst: 5, now: start)
        #expect(drain(&limiter, at: start) == 5)
        #expect(drain(&limiter, at: at(.seconds(3_600))) == 5)
    }

    @Test func aFreshLimiterStartsFull() {
        var limiter = RateLimiter(rate: 1, burst: 3, now: start)
        #expect(drain(&limiter, at: at(.seconds(60))) == 3)
    }
}
