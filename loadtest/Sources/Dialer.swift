import LiaisonClient

/// Opens authenticated connections at a steady rate: connect, `hello`, wait for `synced`.
struct Dialer {
    let engine: ClientEngine
    let common: CommonOptions
    let counters: Counters
    let errors: ErrorTally

    struct Result {
        var connections: [ClientConnection] = []
        /// TCP + WebSocket upgrade.
        var upgrade = Latency()
        /// From the start of the connect to `synced` (connection usable).
        var session = Latency()
        var failed = 0
        var seconds = 0.0
    }

    private enum Outcome: Sendable {
        case opened(ClientConnection, upgradeNanos: UInt64, sessionNanos: UInt64)
        case failed
    }

    /// Opens `count` connections spread over `common.ramp` seconds, at most
    /// `common.maxConnecting` at a time. Users `firstIndex ..< firstIndex + count`.
    func open(count: Int, firstIndex: Int = 0) async -> Result {
        let start = monotonicNanos()
        let rampNanos = max(0, common.ramp) * 1e9
        var result = Result()
        await withTaskGroup(of: Outcome.self) { group in
            var inFlight = 0
            func collect(_ outcome: Outcome) {
                inFlight -= 1
                switch outcome {
                case .opened(let connection, let upgrade, let session):
                    result.connections.append(connection)
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
            connection = try await engine.connect(common.connectOptions(index: index))
        } catch {
            errors.add("connect: \(error)")
            counters.failed.add(1, ordering: .relaxed)
            return .failed
        }
        let t1 = monotonicNanos()
        do {
            _ = try await connection.hello(token: common.token(index: index), device: common.device(index: index),
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
        return .opened(connection, upgradeNanos: t1 - t0, sessionNanos: t2 - t0)
    }
}
