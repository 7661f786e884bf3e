import ArgumentParser
import LiaisonClient
import Synchronization

/// `calls`: P caller/callee pairs, each sharing a room, set calls up and tear them down back to back.
struct CallsScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calls",
        abstract: "P pairs doing call.invite → call.ring → call.accept → call.accepted → call.hangup; setup latency and setups/s.",
        discussion: """
            Each pair (two msl users in a group room of their own) loops: the caller invites with a \
            synthetic SDP offer, the callee accepts on call.ring with a synthetic answer, the caller \
            waits for call.accepted (setup latency: invite sent → accepted received), hangs up, and the \
            callee waits for call.ended (hangup). Any error reply, a missing event or a wrong \
            call.ended reason is a protocol error.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: [.short, .customLong("pairs")], help: "Caller/callee pairs.")
    var pairs = 100

    @Option(help: "Pause between two calls of a pair, in milliseconds.")
    var pause: Double = 0

    @Option(help: "Call setups started per second, all pairs together (0: back to back). Pair i starts its calls every pairs/rate seconds, offset by i/rate.")
    var rate: Double = 0

    @Option(help: "Seconds of calls before measuring starts.")
    var warmup: Double = 1

    @Option(help: "Seconds allowed after the end for the calls under way to finish.")
    var drain: Double = 15

    func run() async throws {
        let pairs = max(1, self.pairs)
        let engine = try makeEngine(connections: 2 * pairs)
        let counters = Counters()
        let errors = ErrorTally()
        let progress = ProgressLine()
        progress.start({ rate in
            "calls: \(counters.opened.load(ordering: .relaxed))/\(2 * pairs) connections, \(Int(rate)) setups/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)

        // Callers are 0..<P, callees P..<2P (their own prefix), pair i = (i, P + i).
        var callerDialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        callerDialer.prefix = "\(common.userPrefix)-caller"
        var calleeDialer = callerDialer
        calleeDialer.prefix = "\(common.userPrefix)-callee"
        let callees = try await openGroup(calleeDialer, count: pairs, firstIndex: pairs, what: "calls callees").byIndex.map { $0! }
        let callers = try await openGroup(callerDialer, count: pairs, what: "calls callers").byIndex.map { $0! }

        let calleePrefix = calleeDialer.prefix
        let rooms = try await createGroupRooms(
            count: pairs, creators: callers, members: { [common.user(index: pairs + $0, prefix: calleePrefix)] },
            title: { "calls \($0)" }, what: "calls")
        await sleep(seconds: 0.3)

        let rss = RSSSampler(pid: common.serverPid)
        let window = Window(warmup: warmup, duration: common.duration)
        let cpu = CPUSampler(serverPid: common.serverPid, at: window.measureFrom)
        let pause = self.pause
        let rate = self.rate
        // A pair stuck past the drain is unstuck by closing its connections (its loop then fails).
        let drain = self.drain
        let watchdog = Task {
            try? await Task.sleep(for: .nanoseconds(Int64(window.end - monotonicNanos()) + Int64(drain * 1e9)))
            guard !Task.isCancelled else { return }
            errors.add("calls still under way after the drain")
            for connection in callers + callees { connection.close() }
        }
        let total = await withTaskGroup(of: PairResult.self) { group in
            for i in 0..<pairs {
                group.addTask {
                    let pacing = rate > 0
                        ? Pacing(first: window.start + UInt64(Double(i) / rate * 1e9), every: UInt64(Double(pairs) / rate * 1e9))
                        : nil
                    return await runPair(caller: callers[i], callee: callees[i], room: rooms[i], window: window,
                                  pause: pause, pacing: pacing, counters: counters, errors: errors)
                }
            }
            var total = PairResult()
            for await result in group { total.merge(result) }
            return total
        }
        watchdog.cancel()
        let usage = await cpu.usage(until: window.end)
        rss.stop()
        progress.stop()
        for connection in callers + callees where !connection.isOpen {
            errors.add("closed during the run: \(connection.closeInfo.map(String.init(describing:)) ?? "?")")
        }
        engine.shutdown(grace: .seconds(5))

        let seconds = window.seconds
        var table = SummaryTable()
        table.add("scenario", "calls  \(common.target)")
        table.add("pairs", "\(pairs) caller/callee pairs, "
            + (rate > 0 ? "\(fmt(rate, 0)) setups/s paced" : "calls back to back" + (pause > 0 ? " (\(fmt(pause, 0)) ms apart)" : "")))
        table.add("measured", "\(fmt(seconds, 1)) s after \(fmt(warmup, 1)) s warm-up")
        table.add("setups/s", fmt(Double(total.setups) / seconds, 0) + "  (\(total.setups) calls set up, \(total.started) started in all)")
        table.add("setup latency", total.setup.summary + "  [call.invite → call.accepted at the caller]")
        table.add("ring latency", total.ring.summary + "  [call.invite → call.ring at the callee]")
        table.add("hangup latency", total.hangup.summary + "  [call.hangup → call.ended at the callee]")
        table.add("server RSS", rss.summary)
        table.add("CPU (cores busy)", usage.summary)
        table.add("errors", "\(errors.total.load(ordering: .relaxed))")
        try finish(table, errors: errors, results: [
            "scenario": "calls",
            "target": .string(common.target),
            "pairs": .int(pairs),
            "rate": .number(rate),
            "measured_s": .number(round3(seconds)),
            "calls": .int(total.started),
            "setups": .int(total.setups),
            "setups_per_s": .number((Double(total.setups) / seconds).rounded()),
            "setup_latency": total.setup.json,
            "ring_latency": total.ring.json,
            "hangup_latency": total.hangup.json,
            "server_rss": rss.json,
            "cpu_cores": usage.json,
            "errors": errors.json,
            "protocol_errors": .int(errors.total.load(ordering: .relaxed)),
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
    }
}

struct PairResult: Sendable {
    var started = 0
    var setups = 0
    var setup = Latency()
    var ring = Latency()
    var hangup = Latency()

    mutating func merge(_ other: PairResult) {
        started += other.started
        setups += other.setups
        setup.merge(other.setup)
        ring.merge(other.ring)
        hangup.merge(other.hangup)
    }
}

/// A synthetic SDP of a realistic size (~600 bytes): the server relays it without reading it.
func syntheticSDP(_ kind: String, _ n: Int) -> String {
    let lines = [
        "v=0", "o=- \(4_611_731_400_430_051_000 + n) 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
        "a=msid-semantic: WMS lt", "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126", "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:lt\(n % 10000)", "a=ice-pwd:loadtestloadtestloadtest\(n % 100)",
        "a=ice-options:trickle", "a=fingerprint:sha-256 " + (0..<32).map { _ in "AB" }.joined(separator: ":"),
        "a=setup:\(kind == "offer" ? "actpass" : "active")", "a=mid:0", "a=sendrecv", "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1",
    ]
    return lines.joined(separator: "\r\n") + "\r\n"
}

/// When a paced pair starts its calls: at `first`, then every `every` nanoseconds (at once when late).
struct Pacing {
    var first: UInt64
    var every: UInt64
}

/// One pair's loop of calls until the window ends.
private func runPair(
    caller: ClientConnection, callee: ClientConnection, room: String, window: Window, pause: Double,
    pacing: Pacing?, counters: Counters, errors: ErrorTally
) async -> PairResult {
    var nextStart = pacing?.first
    var result = PairResult()
    var callerEvents = caller.events.makeAsyncIterator()
    var calleeEvents = callee.events.makeAsyncIterator()
    var n = 0
    /// The next event of `type` for `call` (others are skipped), or nil when the stream ends.
    func next(_ iterator: inout AsyncStream<JSON>.Iterator, _ type: String, call: String) async -> JSON? {
        while let event = await iterator.next() {
            if event["type"]?.string == type, event["call"]?.string == call { return event }
            if let t = event["type"]?.string, t.hasPrefix("call."), event["call"]?.string == call {
                errors.add("unexpected \(t) (\(event["reason"]?.string ?? "")) while waiting for \(type)")
                return nil
            }
        }
        return nil
    }
    while monotonicNanos() < window.end {
        if let start = nextStart, let pacing {
            let now = monotonicNanos()
            if start > now { try? await Task.sleep(for: .nanoseconds(Int64(start - now))) }
            nextStart = start + pacing.every
            guard monotonicNanos() < window.end else { break }
        }
        n += 1
        let t0 = monotonicNanos()
        result.started += 1
        let call: String
        do {
            let ok = try await caller.request("call.invite", [
                "room": .string(room), "media": "audio", "sdp": .string(syntheticSDP("offer", n)),
            ], timeout: .seconds(30)).get()
            guard let id = ok["call"]?.string else { errors.add("call.invite ok without a call"); break }
            call = id
        } catch {
            errors.add("call.invite: \(error)")
            break
        }
        guard await next(&calleeEvents, "call.ring", call: call) != nil else {
            errors.add("no call.ring")
            break
        }
        let tRing = monotonicNanos()
        do {
            _ = try await callee.request("call.accept", ["call": .string(call), "sdp": .string(syntheticSDP("answer", n))],
                                         timeout: .seconds(30)).get()
        } catch {
            errors.add("call.accept: \(error)")
            break
        }
        guard await next(&callerEvents, "call.accepted", call: call) != nil else {
            errors.add("no call.accepted")
            break
        }
        let t1 = monotonicNanos()
        if window.contains(t1) {
            result.setups += 1
            result.setup.record(nanos: t1 - t0)
            result.ring.record(nanos: tRing - t0)
        }
        counters.operations.add(1, ordering: .relaxed)
        let t2 = monotonicNanos()
        do {
            _ = try await caller.request("call.hangup", ["call": .string(call)], timeout: .seconds(30)).get()
        } catch {
            errors.add("call.hangup: \(error)")
            break
        }
        guard let ended = await next(&calleeEvents, "call.ended", call: call) else {
            errors.add("no call.ended at the callee")
            break
        }
        if ended["reason"]?.string != "hangup" { errors.add("call.ended reason \(ended["reason"]?.string ?? "?"), not hangup") }
        if window.contains(t1) { result.hangup.record(nanos: monotonicNanos() - t2) }
        if pause > 0 { try? await Task.sleep(for: .milliseconds(Int64(pause))) }
    }
    return result
}
