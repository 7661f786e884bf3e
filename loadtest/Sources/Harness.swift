import ArgumentParser
import LiaisonClient
import Synchronization

/// Samples a process's resident memory every half second while a scenario runs: the peak and the last value.
final class RSSSampler: Sendable {
    let pid: Int32?
    private let state = Mutex<(before: Int?, peak: Int?, last: Int?)>((nil, nil, nil))
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(pid: Int32?) {
        self.pid = pid
        guard let pid else { return }
        let before = residentKiB(pid: pid)
        state.withLock { $0 = (before, before, before) }
        let sampler = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                guard let self, let rss = residentKiB(pid: pid) else { continue }
                self.state.withLock { s in
                    s.last = rss
                    s.peak = max(s.peak ?? 0, rss)
                }
            }
        }
        task.withLock { $0 = sampler }
    }

    /// Takes a last sample and stops.
    func stop() {
        task.withLock { $0?.cancel() }
        if let pid, let rss = residentKiB(pid: pid) {
            state.withLock { s in
                s.last = rss
                s.peak = max(s.peak ?? 0, rss)
            }
        }
    }

    var peakKiB: Int? { state.withLock { $0.peak } }
    var beforeKiB: Int? { state.withLock { $0.before } }
    var lastKiB: Int? { state.withLock { $0.last } }

    var summary: String {
        guard let pid else { return "n/a (give --server-pid)" }
        return "before \(mibText(beforeKiB))  peak \(mibText(peakKiB))  end \(mibText(lastKiB))  (pid \(pid))"
    }

    var json: JSON {
        guard let pid else { return .null }
        return ["pid": .int(Int(pid)),
                "before_kib": beforeKiB.map { .int($0) } ?? .null,
                "peak_kib": peakKiB.map { .int($0) } ?? .null,
                "end_kib": lastKiB.map { .int($0) } ?? .null]
    }
}

func mibText(_ kib: Int?) -> String {
    guard let kib else { return "n/a" }
    return "\(fmt(Double(kib) / 1024, 1)) MiB"
}

/// The measurement window of a scenario: sending starts at `start`, figures count from
/// `measureFrom` (after the warm-up) to `end`.
struct Window: Sendable {
    let start: UInt64
    let measureFrom: UInt64
    let end: UInt64

    init(warmup: Double, duration: Double) {
        start = monotonicNanos()
        measureFrom = start + UInt64(max(0, warmup) * 1e9)
        end = measureFrom + UInt64(max(0.1, duration) * 1e9)
    }

    var seconds: Double { Double(end - measureFrom) / 1e9 }

    @inline(__always)
    func contains(_ t: UInt64) -> Bool { t >= measureFrom && t <= end }

    /// Sleeps until `end`.
    func waitForEnd() async {
        let now = monotonicNanos()
        if end > now { try? await Task.sleep(for: .nanoseconds(Int64(end - now))) }
    }
}

/// Waits until `done()` holds or `seconds` pass; polls every 10 ms. Returns whether it held.
@discardableResult
func waitUntil(seconds: Double, _ done: () -> Bool) async -> Bool {
    let deadline = monotonicNanos() + UInt64(max(0, seconds) * 1e9)
    while !done() {
        if monotonicNanos() >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}

/// Creates an engine after raising the open-files limit (the context sizes its tables from it).
func makeEngine(connections: Int) throws -> ClientEngine {
    let limit = raiseOpenFileLimit()
    if connections + 64 > limit {
        printError("warning: \(connections) connections need more than the open-files limit (\(limit))\n")
    }
    return try ClientEngine(options: EngineOptions(libwebsocketsLogging: false))
}

/// Prints the table and the error lines, writes the JSON, and fails the command when any
/// protocol error was counted (so a smoke run fails on them).
func finish(_ table: SummaryTable, errors: ErrorTally, results: JSON, to path: String?) throws {
    print(table.render())
    for line in errors.lines.prefix(12) { print(line) }
    try writeResults(results, to: path)
    if errors.total.load(ordering: .relaxed) > 0 { throw ExitCode(1) }
}

/// Opens a group of connections or fails the scenario with what went wrong.
func openGroup(_ dialer: Dialer, count: Int, firstIndex: Int = 0, what: String) async throws -> Dialer.Result {
    let result = await dialer.open(count: count, firstIndex: firstIndex)
    if result.failed > 0 || result.connections.count < count {
        print("\(what): \(result.connections.count) of \(count) connections opened")
        for line in dialer.errors.lines.prefix(10) { print(line) }
        throw ExitCode(1)
    }
    return result
}

/// Creates `count` group rooms at once, room `i` by `creators[i]` with `members(i)` (and `title(i)`),
/// and returns their ids in order; fails the scenario if any creation failed.
func createGroupRooms(
    count: Int, creators: [ClientConnection], members: @escaping @Sendable (Int) -> [String],
    title: @escaping @Sendable (Int) -> String? = { _ in nil }, what: String
) async throws -> [String] {
    let ids: [String?] = await withTaskGroup(of: (Int, String?).self) { group in
        for i in 0..<count {
            group.addTask {
                var fields: [String: JSON] = ["kind": "group", "members": .array(members(i).map(JSON.string))]
                if let title = title(i) { fields["title"] = .string(title) }
                let reply = try? await creators[i].request("room.create", fields, timeout: .seconds(60))
                return (i, reply?["room"]?.string)
            }
        }
        var ids = [String?](repeating: nil, count: count)
        for await (i, id) in group { ids[i] = id }
        return ids
    }
    let failed = ids.filter { $0 == nil }.count
    guard failed == 0 else {
        print("\(what): room.create failed for \(failed) of \(count) rooms")
        throw ExitCode(1)
    }
    return ids.map { $0! }
}

/// `"text"` as a JSON string literal (quotes and escapes).
func jsonString(_ text: String) -> String {
    JSON.string(text).encodedString()
}

/// Makes `users` known to the server without connecting them: an admin connection (connection
/// `index`, user `PREFIX-admin`) sends `user.put` for each, 64 at a time, then closes.
func provision(_ users: [String], role: String, areas: [String] = [], engine: ClientEngine, common: CommonOptions,
               index: Int, errors: ErrorTally) async throws {
    var dialer = Dialer(engine: engine, common: common, counters: Counters(), errors: errors)
    dialer.prefix = "\(common.userPrefix)-admin"
    dialer.role = "admin"
    dialer.areas = []
    let admin = try await openGroup(dialer, count: 1, firstIndex: index, what: "admin").byIndex[0]!
    defer { admin.close() }
    let failures = await withTaskGroup(of: String?.self) { group -> [String] in
        var failures: [String] = []
        var next = 0
        func add() {
            let user = users[next]
            next += 1
            group.addTask {
                let fields: [String: JSON] = ["user": .string(user), "role": .string(role), "name": .string(user),
                                              "areas": .array(areas.map { .string($0) })]
                do {
                    let reply = try await admin.request("user.put", fields, timeout: .seconds(60))
                    return reply.errorCode
                } catch {
                    return "\(error)"
                }
            }
        }
        while next < min(64, users.count) { add() }
        for await failure in group {
            if let failure { failures.append(failure) }
            if next < users.count { add() }
        }
        return failures
    }
    if let first = failures.first {
        print("user.put failed for \(failures.count) users: \(first)")
        throw ExitCode(1)
    }
}
