import ArgumentParser
import LiaisonClient

/// `connect`: ramp N authenticated connections, hold them, report connect latency and server memory.
struct ConnectScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Open N authenticated connections, hold them idle, report connect latency and server RSS.")

    @OptionGroup var common: CommonOptions

    @Option(name: [.short, .customLong("connections")], help: "Connections to open.")
    var connections = 1000

    @Option(help: "Seconds to let the server settle after the ramp before sampling its memory.")
    var settle: Double = 2

    func run() async throws {
        let fdLimit = raiseOpenFileLimit()
        if connections + 64 > fdLimit {
            printError("warning: \(connections) connections need more than the open-files limit (\(fdLimit))\n")
        }
        let rssBefore = common.serverPid.flatMap(residentKiB(pid:))
        let engine = try ClientEngine(options: EngineOptions(libwebsocketsLogging: false))
        let counters = Counters()
        let errors = ErrorTally()
        let progress = ProgressLine()
        let target = connections
        progress.start({ rate in
            "connect: \(counters.opened.load(ordering: .relaxed))/\(target) open, \(Int(rate))/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)

        let dial = await Dialer(engine: engine, common: common, counters: counters, errors: errors)
            .open(count: connections)
        let opened = dial.connections.count

        // Hold: sample the server's memory after it settles, and again at the end.
        let holdStart = monotonicNanos()
        await sleep(seconds: min(settle, common.duration))
        let rssSettled = common.serverPid.flatMap(residentKiB(pid:))
        var rssPeak = rssSettled
        while Double(monotonicNanos() - holdStart) / 1e9 < common.duration {
            await sleep(seconds: min(1, common.duration - Double(monotonicNanos() - holdStart) / 1e9))
            if let pid = common.serverPid, let rss = residentKiB(pid: pid) { rssPeak = max(rssPeak ?? 0, rss) }
        }
        let rssHolding = common.serverPid.flatMap(residentKiB(pid:))
        let stillOpen = dial.connections.filter(\.isOpen).count
        let dropped = opened - stillOpen
        for connection in dial.connections where !connection.isOpen {
            errors.add("dropped while holding: \(connection.closeInfo.map(String.init(describing:)) ?? "?")")
        }
        progress.stop()
        engine.shutdown(grace: .seconds(5))

        // Report.
        var table = SummaryTable()
        table.add("scenario", "connect  \(common.target)")
        table.add("connections", "\(opened) opened of \(connections), \(dial.failed) failed, \(dropped) dropped while holding")
        table.add("ramp", "\(fmt(dial.seconds)) s (\(fmt(Double(opened) / max(dial.seconds, 1e-9), 0)) connections/s), held \(fmt(common.duration, 1)) s")
        table.add("upgrade latency", dial.upgrade.summary)
        table.add("connect latency", dial.session.summary + "  [connect → hello ok → synced]")
        var rssJSON: JSON = .null
        if let pid = common.serverPid {
            let perConnection: Double? = {
                guard let before = rssBefore, let holding = rssHolding, stillOpen > 0 else { return nil }
                return Double(holding - before) / Double(stillOpen)
            }()
            table.add("server RSS", "before \(mib(rssBefore))  holding \(mib(rssHolding))  peak \(mib(rssPeak))  (pid \(pid))")
            table.add("RSS per connection", perConnection.map { "\(fmt($0, 2)) KiB  ((holding − before) / \(stillOpen))" } ?? "n/a")
            rssJSON = [
                "pid": .int(Int(pid)),
                "before_kib": rssBefore.map { .int($0) } ?? .null,
                "settled_kib": rssSettled.map { .int($0) } ?? .null,
                "holding_kib": rssHolding.map { .int($0) } ?? .null,
                "peak_kib": rssPeak.map { .int($0) } ?? .null,
                "per_connection_kib": perConnection.map { .number(round3($0)) } ?? .null,
            ]
        }
        let errorLines = errors.lines
        table.add("errors", errorLines.isEmpty ? "0" : "\(errors.total.load(ordering: .relaxed))")
        print(table.render())
        for line in errorLines.prefix(10) { print(line) }

        try writeResults([
            "scenario": "connect",
            "target": .string(common.target),
            "connections": [
                "requested": .int(connections),
                "opened": .int(opened),
                "failed": .int(dial.failed),
                "dropped": .int(dropped),
                "held": .int(stillOpen),
            ],
            "ramp_s": .number(round3(dial.seconds)),
            "hold_s": .number(common.duration),
            "upgrade_latency": dial.upgrade.json,
            "connect_latency": dial.session.json,
            "server_rss": rssJSON,
            "errors": errors.json,
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
        if opened == 0 { throw ExitCode(1) }
    }
}

private func mib(_ value: Int?) -> String {
    guard let value else { return "n/a" }
    return "\(fmt(Double(value) / 1024, 1)) MiB"
}
