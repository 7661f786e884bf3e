import ArgumentParser
import LiaisonClient

/// `rtt`: request/reply round trips (`presence.set` → `ok`) over C connections with W in flight each.
struct RTTScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtt",
        abstract: "Request/reply round trips: each connection sends presence.set with a window of requests in flight.")

    @OptionGroup var common: CommonOptions

    @Option(name: [.short, .customLong("connections")], help: "Connections.")
    var connections = 100

    @Option(help: "Requests in flight per connection.")
    var window = 1

    @Option(help: "Seconds of sending before measuring starts.")
    var warmup: Double = 1

    func run() async throws {
        raiseOpenFileLimit()
        let engine = try ClientEngine(options: EngineOptions(libwebsocketsLogging: false))
        let counters = Counters()
        let errors = ErrorTally()
        let progress = ProgressLine()
        let target = connections
        progress.start({ rate in
            "rtt: \(counters.opened.load(ordering: .relaxed))/\(target) connections, \(Int(rate)) ops/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)

        let dial = await Dialer(engine: engine, common: common, counters: counters, errors: errors)
            .open(count: connections)
        guard !dial.connections.isEmpty else {
            progress.stop()
            engine.shutdown()
            print("rtt: no connection could be opened")
            for line in errors.lines.prefix(10) { print(line) }
            throw ExitCode(1)
        }

        let start = monotonicNanos()
        let cpu = CPUSampler(serverPid: common.serverPid, at: start + UInt64(max(0, warmup) * 1e9))
        let measureFrom = start + UInt64(max(0, warmup) * 1e9)
        let end = measureFrom + UInt64(max(0.1, common.duration) * 1e9)
        let window = max(1, self.window)
        let totals = await withTaskGroup(of: WorkerResult.self) { group -> WorkerResult in
            for connection in dial.connections {
                for _ in 0..<window {
                    group.addTask {
                        await worker(connection, measureFrom: measureFrom, end: end, counters: counters, errors: errors)
                    }
                }
            }
            var total = WorkerResult()
            for await result in group { total.merge(result) }
            return total
        }
        let measured = Double(end - measureFrom) / 1e9
        let usage = await cpu.usage(until: end)
        progress.stop()
        engine.shutdown(grace: .seconds(5))

        let perSecond = Double(totals.ok + totals.errors) / measured
        var table = SummaryTable()
        table.add("scenario", "rtt  \(common.target)  presence.set → ok")
        table.add("connections", "\(dial.connections.count) of \(connections), window \(window) (\(dial.connections.count * window) in flight)")
        table.add("measured", "\(fmt(measured, 1)) s after \(fmt(warmup, 1)) s warm-up")
        table.add("round trips", "\(totals.ok + totals.errors) (\(totals.errors) error replies)")
        table.add("round trips/s", fmt(perSecond, 0))
        table.add("latency", totals.latency.summary)
        table.add("CPU (cores busy)", usage.summary)
        table.add("errors", errors.lines.isEmpty ? "0" : "\(errors.total.load(ordering: .relaxed))")
        print(table.render())
        for line in errors.lines.prefix(10) { print(line) }

        try writeResults([
            "scenario": "rtt",
            "target": .string(common.target),
            "request": "presence.set",
            "connections": .int(dial.connections.count),
            "window": .int(window),
            "warmup_s": .number(warmup),
            "measured_s": .number(round3(measured)),
            "round_trips": .int(totals.ok + totals.errors),
            "error_replies": .int(totals.errors),
            "round_trips_per_s": .number(perSecond.rounded()),
            "latency": totals.latency.json,
            "connect_latency": dial.session.json,
            "cpu_cores": usage.json,
            "errors": errors.json,
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
    }
}

struct WorkerResult: Sendable {
    var ok = 0
    var errors = 0
    var latency = Latency()

    mutating func merge(_ other: WorkerResult) {
        ok += other.ok
        errors += other.errors
        latency.merge(other.latency)
    }
}

/// Sends `presence.set` back to back on one connection until `end`; counts what completes after `measureFrom`.
private func worker(
    _ connection: ClientConnection, measureFrom: UInt64, end: UInt64, counters: Counters, errors: ErrorTally
) async -> WorkerResult {
    var result = WorkerResult()
    while true {
        let t0 = monotonicNanos()
        if t0 >= end { break }
        let reply: Reply
        do {
            reply = try await connection.request("presence.set", ["status": "online"])
        } catch {
            errors.add("request: \(error)")
            break
        }
        let t1 = monotonicNanos()
        counters.operations.add(1, ordering: .relaxed)
        guard t0 >= measureFrom, t1 <= end else { continue }
        if reply.isOK {
            result.ok += 1
        } else {
            result.errors += 1
            errors.add("reply: \(reply.errorCode ?? "?")")
        }
        result.latency.record(nanos: t1 - t0)
    }
    return result
}
