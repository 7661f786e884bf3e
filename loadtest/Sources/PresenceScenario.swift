import ArgumentParser
import LiaisonClient

/// `presence`: W watchers watch U users whose status flips; every flip reaches each of its watchers.
struct PresenceScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence",
        abstract: "Presence churn: W watchers watching U users who flip status; presence events/s and latency.",
        discussion: """
            Each of the U users alternates presence.set away/online, with a stamped note, at --rate \
            per second (0: as fast as --window unanswered requests allow). Each watcher watches \
            --watch users (default all). Every flip must reach every watcher of that user exactly once, \
            in order: anything else is a protocol error.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Watchers.")
    var watchers = 100

    @Option(help: "Users whose status flips.")
    var users = 100

    @Option(help: "Users each watcher watches (default: all of them).")
    var watch: Int?

    @Option(help: "Status flips per second per user (0: as fast as the window allows).")
    var rate: Double = 2

    @Option(help: "Unanswered presence.set requests per user.")
    var window = 4

    @Option(help: "Seconds of flipping before measuring starts.")
    var warmup: Double = 1

    @Option(help: "Seconds allowed after the end for events in flight.")
    var drain: Double = 10

    func run() async throws {
        let users = max(1, self.users)
        let watchers = max(1, self.watchers)
        let perWatcher = min(users, max(1, watch ?? users))
        let watched: [[Int]] = (0..<watchers).map { w in (0..<perWatcher).map { (w * perWatcher + $0) % users } }
        var watcherCount = Array(repeating: 0, count: users)
        for list in watched { for u in list { watcherCount[u] += 1 } }

        let engine = try makeEngine(connections: users + watchers)
        let counters = Counters()
        let errors = ErrorTally()
        let tracker = MulticastTracker(recipients: watcherCount, window: max(1, window), errors: errors)
        tracker.counters = counters
        let progress = ProgressLine()
        progress.start({ rate in
            "presence: \(counters.opened.load(ordering: .relaxed))/\(users + watchers) connections, \(Int(rate)) flips/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)

        // The users first (a watched user must be known), then the watchers.
        var userDialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        userDialer.prefix = "\(common.userPrefix)-pu"
        userDialer.configure = { index, options in
            options.messageInterceptor = { bytes in
                guard let reply = readReply(bytes, prefix: "p") else { return false }
                tracker.replied(sender: index, k: reply.k, errorCode: reply.errorCode, what: "presence.set")
                return true
            }
        }
        let userDial = try await openGroup(userDialer, count: users, what: "presence users")
        var watcherDialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        watcherDialer.prefix = "\(common.userPrefix)-pw"
        watcherDialer.configure = { index, options in
            let watcher = index - users
            options.messageInterceptor = { bytes in
                guard let stamp = Stamp.read(bytes) else { return false }
                tracker.received(stamp, at: watcher)
                return true
            }
        }
        let watcherDial = try await openGroup(watcherDialer, count: watchers, firstIndex: users, what: "presence watchers")
        let userConnections = userDial.byIndex.map { $0! }
        let watcherConnections = watcherDial.byIndex.map { $0! }

        let userPrefix = userDialer.prefix
        let failures = await withTaskGroup(of: Bool.self) { group in
            for (w, connection) in watcherConnections.enumerated() {
                let list = watched[w].map { JSON.string(common.user(index: $0, prefix: userPrefix)) }
                group.addTask {
                    let reply = try? await connection.request("presence.watch", ["users": .array(list)], timeout: .seconds(60))
                    return reply?.isOK == true
                }
            }
            var failures = 0
            for await ok in group where !ok { failures += 1 }
            return failures
        }
        if failures > 0 {
            print("presence: presence.watch failed on \(failures) watchers")
            engine.shutdown()
            throw ExitCode(1)
        }

        tracker.send = { u, k, sentAt in
            let status = k % 2 == 0 ? "away" : "online"
            let note = Stamp(stream: UInt64(u), number: k, sentAt: sentAt).text()
            try? userConnections[u].sendText(#"{"type":"presence.set","id":"p\#(k)","status":"\#(status)","note":"\#(note)"}"#)
        }
        let rss = RSSSampler(pid: common.serverPid)
        let window = Window(warmup: warmup, duration: common.duration)
        tracker.window = window
        let cpu = CPUSampler(serverPid: common.serverPid, at: window.measureFrom)
        let pacer = tracker.start(rate: rate)
        await window.waitForEnd()
        tracker.stop()
        pacer?.cancel()
        let usage = await cpu.usage(until: window.end)
        rss.stop()
        await waitUntil(seconds: drain) { tracker.idle }
        progress.stop()
        for connection in userConnections + watcherConnections where !connection.isOpen {
            errors.add("closed during the run: \(connection.closeInfo.map(String.init(describing:)) ?? "?")")
        }
        let s = tracker.finish(what: "presence.set")
        engine.shutdown(grace: .seconds(5))

        let seconds = window.seconds
        var table = SummaryTable()
        table.add("scenario", "presence  \(common.target)")
        table.add("watchers", "\(watchers) watchers × \(perWatcher) users watched each; \(users) users flipping "
            + (rate > 0 ? "\(fmt(rate, 1))/s each" : "as fast as a window of \(tracker.windowSize) allows"))
        table.add("measured", "\(fmt(seconds, 1)) s after \(fmt(warmup, 1)) s warm-up")
        table.add("flips/s", fmt(Double(s.acks) / seconds, 0) + "  (presence.set answered)")
        table.add("set latency", s.ackLatency.summary + "  [presence.set → ok]")
        table.add("events/s", fmt(Double(s.deliveries) / seconds, 0) + "  (presence events at watchers)")
        table.add("latency", s.latency.summary + "  [set → each watcher's event]")
        table.add("every watcher", s.complete.summary + "  [set → last watcher's event]")
        table.add("server RSS", rss.summary)
        table.add("CPU (cores busy)", usage.summary)
        table.add("errors", "\(errors.total.load(ordering: .relaxed))")
        try finish(table, errors: errors, results: [
            "scenario": "presence",
            "target": .string(common.target),
            "watchers": .int(watchers),
            "users": .int(users),
            "watched_per_watcher": .int(perWatcher),
            "rate_per_user": .number(rate),
            "measured_s": .number(round3(seconds)),
            "flips": .int(s.sent),
            "flips_per_s": .number((Double(s.acks) / seconds).rounded()),
            "set_latency": s.ackLatency.json,
            "events": .int(s.deliveries),
            "events_per_s": .number((Double(s.deliveries) / seconds).rounded()),
            "latency": s.latency.json,
            "every_watcher_latency": s.complete.json,
            "server_rss": rss.json,
            "cpu_cores": usage.json,
            "errors": errors.json,
            "protocol_errors": .int(errors.total.load(ordering: .relaxed)),
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
    }
}
