import LiaisonClient

/// Opens authenticated connections at a steady rate: connect, `hello`, wait for `synced`.
struct Dialer {
    let engine: ClientEngine
    let common: CommonOptions
    let counters: Counters
    let errors: ErrorTally
    /// Role claim of the tokens (default: `--role`).
    var role: String? = nil
    /// User ids are `PREFIX-INDEX` (default: `--user-prefix`).
    var prefix: String? = nil
    /// `areas` claim of the tokens.
    var areas: [String] = ["cardiology"]
    /// `false`: only the WebSocket upgrade, no `hello` (plain broadcast servers).
    var authenticate = true
    /// Adjusts the options of connection INDEX (subprotocol, path, interceptor…).
    var configure: (@Sendable (Int, inout ConnectOptions) -> Void)? = nil

    struct Result {
        var connections: [ClientConnection] = []
        /// TCP + WebSocket upgrade.
        var upgrade = Latency()
        /// From the start of the connect to `synced` (connection usable).
        var session = Latency()
        var failed = 0
        var seconds = 0.0
        /// Connection `firstIndex + i` at `i`, nil when it failed.
        var byIndex: [ClientConnection?] = []
    }

    private enum Outcome: Sendable {
        case opened(ClientConnection, index: Int, upgradeNanos: UInt64, sessionNanos: UInt64)
        case failed
    }

    /// Opens `count` connections spread over `common.ramp` seconds, at most
    /// `common.maxConnecting` at a time. Users `firstIndex ..< firstIndex + count`; the result
    /// lists them in completion order (`connections`) and by index (`byIndex`, nil when failed).
    func open(count: Int, firstIndex: Int = 0) async -> Result {
        let start = monotonicNanos()
        let rampNanos = max(0, common.ramp) * 1e9
        var result = Result()
        result.byIndex = Array(repeating: nil, count: count)
        await withTaskGroup(of: Outcome.self) { group in
            var inFlight = 0
            func collect(_ outcome: Outcome) {
                inFlight -= 1
                switch outcome {
                case .opened(let connection, let index, let upgrade, let session):
                    result.connections.append(connection)
                    result.byIndex[index - firstIndex] = connection
                    result.upgrade.record(nanos: upgrade)
                    result.session.record(nanos: session)
                case .failed:
                    result.failed += 1
                }
            }
            for i in 0..<count {
                let due = start + UInt64(rampNanos * Double(i) / Double(max(1, count)))
                let now = monotonicNanos()
                if due > now + 1_000_000 {
                    try? await Task.sleep(for: .nanoseconds(Int64(due - now)))
                }
                while inFlight >= max(1, common.maxConnecting), let outcome = await group.next() {
                    collect(outcome)
                }
                let index = firstIndex + i
                group.addTask { await openOne(index: index) }
                inFlight += 1
            }
            for await outcome in group { collect(outcome) }
        }
        result.seconds = Double(monotonicNanos() - start) / 1e9
        return result
    }

    private func openOne(index: Int) async -> Outcome {
        let t0 = monotonicNanos()
        let connection: ClientConnection
        do {
            var options = common.connectOptions(index: index)
            configure?(index, &options)
            connection = try await engine.connect(options)
        } catch {
            errors.add("connect: \(error)")
            counters.failed.add(1, ordering: .relaxed)
            return .failed
        }
        let t1 = monotonicNanos()
        guard authenticate else {
            counters.opened.add(1, ordering: .relaxed)
            counters.operations.add(1, ordering: .relaxed)
            return .opened(connection, index: index, upgradeNanos: t1 - t0, sessionNanos: t1 - t0)
        }
        do {
            let token = common.token(index: index, prefix: prefix, role: role, areas: areas)
            _ = try await connection.hello(token: token, device: common.device(index: index),
                                           client: "liaison-loadtest/1")
            try await connection.synced()
        } catch let error as ServerError {
            errors.add("hello: \(error.code)")
            counters.failed.add(1, ordering: .relaxed)
            connection.close()
            return .failed
        } catch {
            errors.add("hello: \(error)")
            counters.failed.add(1, ordering: .relaxed)
            connection.close()
            return .failed
        }
        let t2 = monotonicNanos()
        counters.opened.add(1, ordering: .relaxed)
        counters.operations.add(1, ordering: .relaxed)
        return .opened(connection, index: index, upgradeNanos: t1 - t0, sessionNanos: t2 - t0)
    }
}
