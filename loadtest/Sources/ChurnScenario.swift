import ArgumentParser
import LiaisonClient
import Synchronization

/// `churn`: many short sessions (connect → `hello` → `synced` → close), and how much the server's
/// resident memory grows per 10,000 of them once warmed up.
struct ChurnScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn",
        abstract: "Session churn: connect → hello → synced → close, over and over; server RSS growth per 10,000 sessions.",
        discussion: """
            --concurrency workers each run sessions one after another: connect, hello (answered ok), \
            wait for synced, close, wait until closed. Worker K is always user PREFIX-churn-K on device \
            lt-device-K, so after the first sessions the server knows every user and device of the run: \
            what grows after that is what each finished session leaves behind. The first --warmup sessions \
            warm the server up; when they are all closed (and the server's /healthz counts no open \
            connection) and --settle seconds passed, the server's VmRSS is read (--server-pid), and again \
            the same way after the remaining sessions. Reported: RSS growth per 10,000 sessions finished \
            after the warm-up, sessions/s, session and cycle latency, failures; with --checkpoint N the \
            RSS is also read, the same way, after every N measured sessions (linear growth or a plateau). \
            A session that is refused, times out (--step-timeout) or is closed by the server counts as an \
            error; no session starts after --time-limit (reaching it is an error too). --ramp, --duration \
            and --max-connecting do not apply.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Sessions in all, the warm-up included.")
    var sessions = 30_000

    @Option(help: "Sessions in flight at once (workers, each its own user and device).")
    var concurrency = 200

    @Option(help: "Sessions run and closed before the first RSS reading (not measured).")
    var warmup = 10_000

    @Option(help: "Seconds to wait, once every connection is closed, before reading the server's RSS.")
    var settle: Double = 2

    @Option(help: "Seconds each step (connect, hello, synced, close) may take before the session fails.")
    var stepTimeout: Double = 10

    @Option(help: "Seconds the run may take: no session starts after that (and the run fails).")
    var timeLimit: Double = 900

    @Option(help: "Also read the server's RSS (connections closed, --settle) after every N measured sessions (0: only at the end).")
    var checkpoint = 0

    mutating func validate() throws {
        guard sessions > 0 else { throw ValidationError("--sessions must be positive") }
        guard warmup >= 0, warmup < sessions else { throw ValidationError("--warmup must be in 0 ..< --sessions") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        guard checkpoint >= 0 else { throw ValidationError("--checkpoint must not be negative") }
        guard stepTimeout > 0, timeLimit > 0, settle >= 0 else {
            throw ValidationError("--step-timeout and --time-limit must be positive, --settle not negative")
        }
    }

    func run() async throws {
        let fdLimit = raiseOpenFileLimit()
        if concurrency + 64 > fdLimit {
            printError("warning: \(concurrency) connections need more than the open-files limit (\(fdLimit))\n")
        }
        // libwebsockets bounds the connect and upgrade (and its other waits) by --step-timeout.
        let engine = try ClientEngine(options: EngineOptions(
            libwebsocketsLogging: false, connectTimeout: max(1, Int(stepTimeout.rounded(.up)))))
        let counters = Counters()
        let errors = ErrorTally()
        let progress = ProgressLine()
        let total = sessions
        progress.start({ rate in
            "churn: \(counters.operations.load(ordering: .relaxed))/\(total) sessions, \(Int(rate))/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)

        let runner = SessionRunner(
            engine: engine, common: common, prefix: "\(common.userPrefix)-churn", stepTimeout: stepTimeout,
            deadline: monotonicNanos() + UInt64(timeLimit * 1e9), counters: counters, errors: errors)
        let pid = common.serverPid
        let rssStart = pid.flatMap(residentKiB(pid:))

        // Warm-up, then the first reading once the server holds no connection.
        let warm = await runner.run(0..<warmup, concurrency: concurrency)
        let warmQuiet = await quiesce(engine: engine)
        let rssWarm = pid.flatMap(residentKiB(pid:))

        // Measured sessions, then the second reading the same way.
        let rss = RSSSampler(pid: pid)
        let cpu = CPUSampler(serverPid: pid, at: monotonicNanos())
        var measured = SessionRunner.Result()
        var checkpoints: [(sessions: Int, rss: Int?)] = []
        var from = warmup
        while from < sessions {
            let to = checkpoint > 0 ? min(sessions, from + checkpoint) : sessions
            measured.merge(await runner.run(from..<to, concurrency: concurrency))
            from = to
            if to < sessions {
                if let open = await quiesce(engine: engine).serverConnections, open > 0 {
                    errors.add("server still counted \(open) open connections at a checkpoint")
                }
                checkpoints.append((measured.ok, pid.flatMap(residentKiB(pid:))))
            }
        }
        let usage = await cpu.usage(until: monotonicNanos())
        let endQuiet = await quiesce(engine: engine)
        let rssEnd = pid.flatMap(residentKiB(pid:))
        rss.stop()
        progress.stop()
        engine.shutdown(grace: .seconds(5))

        let notStarted = warm.notStarted + measured.notStarted
        if notStarted > 0 {
            errors.add("time limit (\(fmt(timeLimit, 0)) s) reached: \(notStarted) of \(sessions) sessions not started")
        }
        for (what, quiet) in [("after the warm-up", warmQuiet), ("at the end", endQuiet)] {
            if let open = quiet.serverConnections, open > 0 {
                errors.add("server still counted \(open) open connections \(what)")
            }
        }

        let growth: Int? = { guard let a = rssWarm, let b = rssEnd else { return nil }; return b - a }()
        let perTenThousand: Double? = {
            guard let growth, measured.ok > 0 else { return nil }
            return Double(growth) * 10_000 / Double(measured.ok)
        }()
        let rate = Double(measured.ok) / max(measured.seconds, 1e-9)
        let warmRate = Double(warm.ok) / max(warm.seconds, 1e-9)

        var table = SummaryTable()
        table.add("scenario", "churn  \(common.target)")
        table.add("sessions", "\(sessions) = \(warmup) warm-up + \(sessions - warmup) measured, \(concurrency) in flight")
        table.add("finished", "warm-up \(warm.ok) ok, \(warm.failed) failed; measured \(measured.ok) ok, \(measured.failed) failed"
            + (notStarted > 0 ? "; \(notStarted) not started (time limit)" : ""))
        table.add("sessions/s", "\(fmt(rate, 0)) measured (\(fmt(measured.seconds, 1)) s), warm-up \(fmt(warmRate, 0)) (\(fmt(warm.seconds, 1)) s)")
        table.add("session latency", measured.session.summary + "  [connect → hello ok → synced]")
        table.add("cycle latency", measured.cycle.summary + "  [connect → … → closed]")
        var rssJSON: JSON = .null
        if let pid {
            table.add("server RSS", "start \(kibText(rssStart))  after warm-up \(kibText(rssWarm))  end \(kibText(rssEnd))  "
                + "peak \(kibText(rss.peakKiB))  (pid \(pid); read with no connection open + \(fmt(settle, 1)) s)")
            table.add("RSS growth", perTenThousand.map { per in
                "\(fmt(per, 0)) KiB (\(fmt(per / 1024, 2)) MiB) per 10,000 sessions after warm-up  "
                    + "(\(growth! >= 0 ? "+" : "")\(growth!) KiB over \(measured.ok) sessions)"
            } ?? "n/a")
            if !checkpoints.isEmpty, let base = rssWarm {
                let steps = (checkpoints + [(measured.ok, rssEnd)]).map { point in
                    "\(point.sessions): " + (point.rss.map { "\($0 - base >= 0 ? "+" : "")\($0 - base)" } ?? "n/a")
                }
                table.add("RSS checkpoints", steps.joined(separator: "  ") + " KiB  (measured sessions ok: growth since the warm-up)")
            }
            rssJSON = [
                "pid": .int(Int(pid)),
                "checkpoints": .array((checkpoints + [(measured.ok, rssEnd)]).map { point in
                    ["measured_ok": .int(point.sessions), "rss_kib": point.rss.map { .int($0) } ?? .null]
                }),
                "start_kib": rssStart.map { .int($0) } ?? .null,
                "after_warmup_kib": rssWarm.map { .int($0) } ?? .null,
                "end_kib": rssEnd.map { .int($0) } ?? .null,
                "peak_kib": rss.peakKiB.map { .int($0) } ?? .null,
                "growth_kib": growth.map { .int($0) } ?? .null,
                "growth_per_10k_sessions_kib": perTenThousand.map { .number(round3($0)) } ?? .null,
                "settle_s": .number(settle),
            ]
        } else {
            table.add("server RSS", "n/a (give --server-pid)")
        }
        table.add("CPU (cores busy)", usage.summary + (checkpoints.isEmpty ? "  (measured sessions)" : "  (measured sessions and checkpoint pauses)"))
        table.add("errors", "\(errors.total.load(ordering: .relaxed))")
        try finish(table, errors: errors, results: [
            "scenario": "churn",
            "target": .string(common.target),
            "sessions": [
                "requested": .int(sessions),
                "warmup": .int(warmup),
                "concurrency": .int(concurrency),
                "warmup_ok": .int(warm.ok),
                "warmup_failed": .int(warm.failed),
                "measured_ok": .int(measured.ok),
                "measured_failed": .int(measured.failed),
                "not_started": .int(notStarted),
            ],
            "warmup_s": .number(round3(warm.seconds)),
            "measured_s": .number(round3(measured.seconds)),
            "sessions_per_s": .number(round3(rate)),
            "warmup_sessions_per_s": .number(round3(warmRate)),
            "session_latency": measured.session.json,
            "cycle_latency": measured.cycle.json,
            "server_rss": rssJSON,
            "server_connections_at_readings": [
                "after_warmup": warmQuiet.serverConnections.map { .int($0) } ?? .null,
                "end": endQuiet.serverConnections.map { .int($0) } ?? .null,
            ],
            "cpu_cores": usage.json,
            "step_timeout_s": .number(stepTimeout),
            "checkpoint_every": .int(checkpoint),
            "time_limit_s": .number(timeLimit),
            "errors": errors.json,
            "protocol_errors": .int(errors.total.load(ordering: .relaxed)),
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
    }

    /// Waits until this side has no connection open and the server's /healthz counts none (up to
    /// 30 s; plain HTTP only, not with --tls), then `settle` seconds.
    private func quiesce(engine: ClientEngine) async -> (serverConnections: Int?, waited: Double) {
        let start = monotonicNanos()
        let deadline = start + 30_000_000_000
        while engine.openConnections > 0, monotonicNanos() < deadline { await sleep(seconds: 0.05) }
        var open: Int? = nil
        if !common.tls {
            while true {
                open = healthzConnections(host: common.host, port: common.port)
                if open == nil || open == 0 || monotonicNanos() >= deadline { break }
                await sleep(seconds: 0.1)
            }
        }
        await sleep(seconds: settle)
        return (open, Double(monotonicNanos() - start) / 1e9)
    }
}

private func kibText(_ kib: Int?) -> String { kib.map { "\($0) KiB" } ?? "n/a" }

/// Runs sessions: one worker per slot, each doing its sessions back to back.
private struct SessionRunner: Sendable {
    let engine: ClientEngine
    let common: CommonOptions
    let prefix: String
    let stepTimeout: Double
    /// No session starts after this (monotonic ns).
    let deadline: UInt64
    let counters: Counters
    let errors: ErrorTally

    struct Result: Sendable {
        var ok = 0
        var failed = 0
        var notStarted = 0
        var seconds = 0.0
        /// connect → `hello` ok → `synced`, sessions that finished.
        var session = Latency()
        /// connect → closed, sessions that finished.
        var cycle = Latency()

        mutating func merge(_ other: Result) {
            ok += other.ok
            failed += other.failed
            notStarted += other.notStarted
            seconds += other.seconds
            session.merge(other.session)
            cycle.merge(other.cycle)
        }
    }

    /// Runs sessions `range` (session I connects with source address I) with `concurrency` workers.
    func run(_ range: Range<Int>, concurrency: Int) async -> Result {
        let start = monotonicNanos()
        let next = Ticket(range.lowerBound)
        let workers = min(concurrency, range.count)
        var result = await withTaskGroup(of: Result.self) { group -> Result in
            for slot in 0..<workers {
                group.addTask { await worker(slot: slot, range: range, next: next) }
            }
            var total = Result()
            for await part in group { total.merge(part) }
            return total
        }
        result.seconds = Double(monotonicNanos() - start) / 1e9
        result.notStarted = range.upperBound - min(range.upperBound, next.value)
        return result
    }

    private func worker(slot: Int, range: Range<Int>, next: Ticket) async -> Result {
        var result = Result()
        let token = common.token(index: slot, prefix: prefix)
        let device = common.device(index: slot)
        while monotonicNanos() < deadline {
            let index = next.take()
            guard index < range.upperBound else { break }
            let t0 = monotonicNanos()
            if let synced = await session(index: index, token: token, device: device) {
                let t1 = monotonicNanos()
                result.ok += 1
                result.session.record(nanos: synced - t0)
                result.cycle.record(nanos: t1 - t0)
            } else {
                result.failed += 1
                counters.failed.add(1, ordering: .relaxed)
            }
            counters.operations.add(1, ordering: .relaxed)
        }
        return result
    }

    /// One session; returns when `synced` came (monotonic ns), nil when it failed (counted in `errors`).
    private func session(index: Int, token: String, device: String) async -> UInt64? {
        let connection: ClientConnection
        do {
            connection = try await engine.connect(common.connectOptions(index: index))
        } catch {
            errors.add("connect: \(error)")
            return nil
        }
        do {
            _ = try await connection.hello(token: token, device: device, client: "liaison-loadtest/1",
                                           timeout: .nanoseconds(Int64(stepTimeout * 1e9)))
        } catch let error as ServerError {
            return await fail(connection, "hello: \(error.code)")
        } catch {
            return await fail(connection, "hello: \(error)")
        }
        switch await race(seconds: stepTimeout, { try await connection.synced() }) {
        case .value: break
        case .failed(let error): return await fail(connection, "synced: \(error)")
        case .timedOut: return await fail(connection, "synced: not received within \(fmt(stepTimeout, 0)) s")
        }
        let synced = monotonicNanos()
        if let info = connection.closeInfo {
            errors.add("closed by the server before the client closed: \(info)")
            return nil
        }
        connection.close()
        switch await race(seconds: stepTimeout, { await connection.closed() }) {
        case .value(let info):
            if !info.initiatedLocally {
                errors.add("close: \(info)")
                return nil
            }
        case .failed(let error):
            errors.add("close: \(error)")
            return nil
        case .timedOut:
            errors.add("close: not closed within \(fmt(stepTimeout, 0)) s")
            return nil
        }
        return synced
    }

    /// Counts `kind`, closes the connection and waits (bounded) until it is closed.
    private func fail(_ connection: ClientConnection, _ kind: String) async -> UInt64? {
        errors.add(kind)
        connection.close()
        _ = await race(seconds: stepTimeout, { await connection.closed() })
        return nil
    }
}

/// The next session number, shared by the workers of a phase.
private final class Ticket: Sendable {
    private let next: Atomic<Int>
    init(_ first: Int) { next = Atomic(first) }
    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
    var value: Int { next.load(ordering: .relaxed) }
}

private enum Raced<T: Sendable>: Sendable {
    case value(T)
    case failed(any Error)
    case timedOut
}

/// Resumes its continuation once, with whichever outcome comes first.
private final class Once<T: Sendable>: Sendable {
    let continuation = Mutex<CheckedContinuation<Raced<T>, Never>?>(nil)

    func resume(_ outcome: Raced<T>) {
        let c = continuation.withLock { c -> CheckedContinuation<Raced<T>, Never>? in defer { c = nil }; return c }
        c?.resume(returning: outcome)
    }
}

/// Runs `operation` and returns its outcome, or `.timedOut` if `seconds` pass first (the
/// operation then keeps running in the background until it ends on its own).
private func race<T: Sendable>(seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async -> Raced<T> {
    let once = Once<T>()
    return await withCheckedContinuation { continuation in
        once.continuation.withLock { $0 = continuation }
        let timer = Task {
            do {
                try await Task.sleep(for: .nanoseconds(Int64(seconds * 1e9)))
                once.resume(.timedOut)
            } catch {}
        }
        Task {
            do { once.resume(.value(try await operation())) } catch { once.resume(.failed(error)) }
            timer.cancel()
        }
    }
}
