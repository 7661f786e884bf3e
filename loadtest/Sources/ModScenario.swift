import ArgumentParser
import LiaisonClient
import Synchronization

/// `mod`: F FMDs of one area; requesters open MOD requests at a rate; every FMD claims every offer.
struct ModScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mod",
        abstract: "MOD storms: F FMDs in one area claim every request; exactly-one-winner check, offer and claim latency.",
        discussion: """
            Requesters (hcp) send mod.request at --rate per second in total, in an area of this run only. \
            Every FMD claims each offer the moment it arrives. Per request: exactly one claim must win \
            (ok) and every other get already_claimed; every connected FMD must be offered it; the \
            requester must get mod.claimed. Any request with a number of winners other than 1 is a \
            protocol error.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: [.short, .customLong("fmds")], help: "FMDs in the area (each claims every offer).")
    var fmds = 100

    @Option(help: "Requesting connections (hcp).")
    var requesters = 1

    @Option(help: "MOD requests per second, all requesters together.")
    var rate: Double = 5

    @Option(help: "Seconds of requests before measuring starts.")
    var warmup: Double = 1

    @Option(help: "Seconds allowed after the end for the claims of the last requests to settle.")
    var drain: Double = 15

    func run() async throws {
        let fmds = max(1, self.fmds)
        let requesters = max(1, self.requesters)
        let area = "lt-area-\(UInt32.random(in: 0...UInt32.max))"
        let engine = try makeEngine(connections: fmds + requesters)
        let counters = Counters()
        let errors = ErrorTally()
        let tracker = ModTracker(fmds: fmds, errors: errors)
        tracker.counters = counters
        let progress = ProgressLine()
        progress.start({ rate in
            "mod: \(counters.opened.load(ordering: .relaxed))/\(fmds + requesters) connections, \(Int(rate)) claims/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)

        var fmdDialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        fmdDialer.prefix = "\(common.userPrefix)-fmd"
        fmdDialer.role = "fmd"
        fmdDialer.areas = [area]
        fmdDialer.configure = { index, options in
            options.messageInterceptor = { bytes in tracker.fmdFrame(bytes, fmd: index) }
        }
        let fmdDial = try await openGroup(fmdDialer, count: fmds, what: "mod FMDs")
        let fmdConnections = fmdDial.byIndex.map { $0! }
        tracker.claim = { fmd, text in try? fmdConnections[fmd].sendText(text) }

        var requesterDialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        requesterDialer.prefix = "\(common.userPrefix)-hcp"
        requesterDialer.role = "hcp"
        requesterDialer.areas = []
        requesterDialer.configure = { index, options in
            let requester = index - fmds
            options.messageInterceptor = { bytes in tracker.requesterFrame(bytes, requester: requester) }
        }
        let requesterDial = try await openGroup(requesterDialer, count: requesters, firstIndex: fmds, what: "mod requesters")
        let requesterConnections = requesterDial.byIndex.map { $0! }
        await sleep(seconds: 0.3)

        let rss = RSSSampler(pid: common.serverPid)
        let window = Window(warmup: warmup, duration: common.duration)
        tracker.window = window
        let cpu = CPUSampler(serverPid: common.serverPid, at: window.measureFrom)
        let rate = max(0.1, self.rate)
        let areaLiteral = jsonString(area)
        var sent = 0
        while monotonicNanos() < window.end {
            let due = Int(Double(monotonicNanos() - window.start) / 1e9 * rate) + 1
            while sent < due {
                let requester = sent % requesters
                let now = monotonicNanos()
                let question = Stamp(stream: UInt64(requester), number: UInt64(sent), sentAt: now).text()
                tracker.requestSent(k: UInt64(sent), at: now)
                try? requesterConnections[requester].sendText(
                    #"{"type":"mod.request","id":"q\#(sent)","area":\#(areaLiteral),"question":"\#(question)","mode":"chat"}"#)
                sent += 1
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        let usage = await cpu.usage(until: window.end)
        rss.stop()
        await waitUntil(seconds: drain) { tracker.settled }
        progress.stop()
        for connection in fmdConnections + requesterConnections where !connection.isOpen {
            errors.add("closed during the run: \(connection.closeInfo.map(String.init(describing:)) ?? "?")")
        }
        let r = tracker.finish()
        engine.shutdown(grace: .seconds(5))

        let seconds = window.seconds
        var table = SummaryTable()
        table.add("scenario", "mod  \(common.target)")
        table.add("fmds", "\(fmds) FMDs in area \(area), \(requesters) requester(s), \(fmt(rate, 1)) requests/s")
        table.add("measured", "\(fmt(seconds, 1)) s after \(fmt(warmup, 1)) s warm-up")
        table.add("requests", "\(r.requests) sent, \(r.measuredRequests) measured (\(fmt(Double(r.measuredRequests) / seconds, 1))/s)")
        table.add("offers", "\(r.offers) received (\(fmt(Double(r.offersMeasured) / seconds, 0))/s measured)")
        table.add("claims", "\(r.claims) sent: \(r.wins) won, \(r.losses) already_claimed")
        table.add("winners per request", r.winnerHistogram.sorted { $0.key < $1.key }.map { "\($0.key) winner(s): \($0.value)" }
            .joined(separator: ", ") + (r.violations == 0 ? "  — exactly one everywhere" : "  — VIOLATED"))
        table.add("request ack", r.ackLatency.summary + "  [mod.request → ok]")
        table.add("offer latency", r.offerLatency.summary + "  [request → each FMD's offer]")
        table.add("last offer", r.lastOfferLatency.summary + "  [request → last FMD's offer]")
        table.add("claim decision", r.claimLatency.summary + "  [mod.claim → ok / already_claimed]")
        table.add("winning claim", r.winLatency.summary)
        table.add("request → claimed", r.claimedLatency.summary + "  [mod.request → requester's mod.claimed]")
        table.add("server RSS", rss.summary)
        table.add("CPU (cores busy)", usage.summary)
        table.add("errors", "\(errors.total.load(ordering: .relaxed))")
        try finish(table, errors: errors, results: [
            "scenario": "mod",
            "target": .string(common.target),
            "fmds": .int(fmds),
            "requesters": .int(requesters),
            "rate": .number(rate),
            "measured_s": .number(round3(seconds)),
            "requests": .int(r.requests),
            "requests_measured": .int(r.measuredRequests),
            "offers": .int(r.offers),
            "claims": .int(r.claims),
            "wins": .int(r.wins),
            "already_claimed": .int(r.losses),
            "winners_per_request": .object(Dictionary(uniqueKeysWithValues: r.winnerHistogram.map { (String($0.key), JSON.int($0.value)) })),
            "one_winner_violations": .int(r.violations),
            "request_ack_latency": r.ackLatency.json,
            "offer_latency": r.offerLatency.json,
            "last_offer_latency": r.lastOfferLatency.json,
            "claim_latency": r.claimLatency.json,
            "winning_claim_latency": r.winLatency.json,
            "claimed_latency": r.claimedLatency.json,
            "server_rss": rss.json,
            "cpu_cores": usage.json,
            "errors": errors.json,
            "protocol_errors": .int(errors.total.load(ordering: .relaxed)),
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
    }
}

/// MOD bookkeeping, per request: offers received, claims won and lost, the requester's `mod.claimed`.
final class ModTracker: @unchecked Sendable {
    struct Request {
        var k: UInt64
        var sentAt: UInt64
        var acked = false
        var offered: Int?
        var offers = 0
        var lastOfferAt: UInt64 = 0
        var wins = 0
        var losses = 0
        var claimedEvent = false
    }

    struct Claim {
        var request: String
        var sentAt: UInt64
    }

    struct State {
        var sentAt: [UInt64: UInt64] = [:]
        var idOf: [UInt64: String] = [:]
        var requests: [String: Request] = [:]
        var claims: [Int: [UInt64: Claim]]
        var nextClaim: [UInt64]
        var offers = 0
        var offersMeasured = 0
        var claimsSent = 0
        var ackLatency = Latency()
        var offerLatency = Latency()
        var claimLatency = Latency()
        var winLatency = Latency()
        var claimedLatency = Latency()
    }

    struct Result {
        var requests = 0
        var measuredRequests = 0
        var offers = 0
        var offersMeasured = 0
        var claims = 0
        var wins = 0
        var losses = 0
        var winnerHistogram: [Int: Int] = [:]
        var violations = 0
        var ackLatency: Latency
        var offerLatency: Latency
        var lastOfferLatency = Latency()
        var claimLatency: Latency
        var winLatency: Latency
        var claimedLatency: Latency
    }

    let fmds: Int
    let errors: ErrorTally
    private let state: Mutex<State>
    var claim: (@Sendable (Int, String) -> Void)?
    var window = Window(warmup: 0, duration: 0)
    var counters: Counters?

    init(fmds: Int, errors: ErrorTally) {
        self.fmds = fmds
        self.errors = errors
        state = Mutex(State(claims: [:], nextClaim: Array(repeating: 0, count: fmds)))
    }

    func requestSent(k: UInt64, at: UInt64) {
        state.withLock { $0.sentAt[k] = at }
    }

    /// The request record for `id`, created from the stamp by whichever of its frames comes first.
    private static func record(_ s: inout State, id: String, k: UInt64, sentAt: UInt64) -> Request {
        if let r = s.requests[id] { return r }
        s.idOf[k] = id
        return Request(k: k, sentAt: sentAt)
    }

    /// Frames at a requester: the `ok` of `mod.request`, `mod.claimed`, the MOD room's traffic.
    func requesterFrame(_ bytes: UnsafeRawBufferPointer, requester: Int) -> Bool {
        let now = monotonicNanos()
        if let reply = readReply(bytes, prefix: "q") {
            if let code = reply.errorCode {
                state.withLock { _ = $0.sentAt.removeValue(forKey: reply.k) }
                errors.add("mod.request error: \(code)")
                return true
            }
            guard let id = RawScan.string(after: #""request":""#, in: bytes) else {
                errors.add("mod.request ok without a request id")
                return true
            }
            let offered = RawScan.number(after: #""offered":"#, in: bytes).map(Int.init)
            state.withLock { s in
                guard let sentAt = s.sentAt[reply.k] else { return }
                var r = Self.record(&s, id: id, k: reply.k, sentAt: sentAt)
                r.acked = true
                r.offered = offered
                s.requests[id] = r
                if window.contains(sentAt) { s.ackLatency.record(nanos: now &- sentAt) }
            }
            return true
        }
        if RawScan.contains(#""type":"mod.claimed""#, in: bytes) {
            guard let id = RawScan.string(after: #""request":""#, in: bytes) else { return true }
            var unknown = false
            state.withLock { s in
                guard var r = s.requests[id] else { unknown = true; return }
                if r.claimedEvent { unknown = true }
                r.claimedEvent = true
                s.requests[id] = r
                if window.contains(r.sentAt) { s.claimedLatency.record(nanos: now &- r.sentAt) }
            }
            if unknown { errors.add("mod.claimed for an unknown request, or twice") }
            return true
        }
        return Stamp.read(bytes) != nil  // the question as the MOD room's first message
    }

    /// Frames at an FMD: offers (claimed at once), claim replies, `mod.taken`, the MOD room's traffic.
    func fmdFrame(_ bytes: UnsafeRawBufferPointer, fmd: Int) -> Bool {
        let now = monotonicNanos()
        if RawScan.contains(#""type":"mod.offer""#, in: bytes) {
            guard let stamp = Stamp.read(bytes), let id = RawScan.string(after: #""request":""#, in: bytes) else {
                return false
            }
            let text: String = state.withLock { s in
                var r = Self.record(&s, id: id, k: stamp.number, sentAt: stamp.sentAt)
                r.offers += 1
                r.lastOfferAt = max(r.lastOfferAt, now)
                s.requests[id] = r
                s.offers += 1
                if window.contains(stamp.sentAt) {
                    s.offersMeasured += 1
                    s.offerLatency.record(nanos: now &- stamp.sentAt)
                }
                let n = s.nextClaim[fmd]
                s.nextClaim[fmd] += 1
                s.claims[fmd, default: [:]][n] = Claim(request: id, sentAt: monotonicNanos())
                s.claimsSent += 1
                return #"{"type":"mod.claim","id":"k\#(n)","request":"\#(id)"}"#
            }
            claim?(fmd, text)
            return true
        }
        if let reply = readReply(bytes, prefix: "k") {
            var problem: String?
            state.withLock { s in
                guard let c = s.claims[fmd]?.removeValue(forKey: reply.k), var r = s.requests[c.request] else {
                    problem = "reply to an unknown claim"
                    return
                }
                switch reply.errorCode {
                case nil: r.wins += 1
                case "already_claimed": r.losses += 1
                case let code?: problem = "mod.claim error: \(code)"
                }
                s.requests[c.request] = r
                if window.contains(r.sentAt) {
                    s.claimLatency.record(nanos: now &- c.sentAt)
                    if reply.errorCode == nil { s.winLatency.record(nanos: now &- c.sentAt) }
                }
            }
            counters?.operations.add(1, ordering: .relaxed)
            if let problem { errors.add(problem) }
            return true
        }
        if RawScan.contains(#""type":"mod.taken""#, in: bytes) { return true }
        return Stamp.read(bytes) != nil  // the winner's MOD room message
    }

    /// Every request answered, fully offered and decided (claims answered, requester told).
    var settled: Bool {
        state.withLock { s in
            s.sentAt.count == s.requests.values.filter(\.acked).count
                && s.claims.values.allSatisfy(\.isEmpty)
                && s.requests.values.allSatisfy { r in r.acked && r.offers == (r.offered ?? -1) && r.claimedEvent }
        }
    }

    /// Checks every request; each problem is a protocol error.
    func finish() -> Result {
        state.withLock { s in
            var result = Result(ackLatency: s.ackLatency, offerLatency: s.offerLatency, claimLatency: s.claimLatency,
                                winLatency: s.winLatency, claimedLatency: s.claimedLatency)
            result.requests = s.sentAt.count
            result.offers = s.offers
            result.offersMeasured = s.offersMeasured
            result.claims = s.claimsSent
            for (k, sentAt) in s.sentAt {
                guard let id = s.idOf[k], let r = s.requests[id], r.acked else {
                    errors.add("mod.request without an ok")
                    continue
                }
                if window.contains(sentAt) {
                    result.measuredRequests += 1
                    if r.offers > 0 { result.lastOfferLatency.record(nanos: r.lastOfferAt &- sentAt) }
                }
                result.wins += r.wins
                result.losses += r.losses
                result.winnerHistogram[r.wins, default: 0] += 1
                if r.wins != 1 {
                    result.violations += 1
                    errors.add("request with \(r.wins) winners (exactly one expected)")
                }
                if r.offered != fmds { errors.add("request offered to \(r.offered ?? 0) FMDs of \(fmds) connected") }
                if r.offers != r.offered { errors.add("offers received differ from offered") }
                if r.wins + r.losses != r.offers { errors.add("claims unanswered") }
                if !r.claimedEvent { errors.add("requester got no mod.claimed") }
            }
            let stray = s.claims.values.reduce(0) { $0 + $1.count }
            errors.add("mod.claim without a reply", count: stray)
            return result
        }
    }
}
