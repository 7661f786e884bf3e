#if canImport(Glibc)
import Glibc
#endif
import LiaisonClient

/// CPU use of this harness and of the server over a measurement window, in cores
/// (1.0 = one core busy the whole time): on a small machine both share the cores.
struct CPUSampler: Sendable {
    struct Usage {
        var harness: Double?
        var server: Double?

        var summary: String {
            let h = harness.map { fmt($0) } ?? "n/a"
            let s = server.map { fmt($0) } ?? "n/a (give --server-pid)"
            return "harness \(h)  server \(s)"
        }

        var json: JSON {
            ["harness": harness.map { .number(round3($0)) } ?? .null,
             "server": server.map { .number(round3($0)) } ?? .null]
        }
    }

    let serverPid: Int32?
    private let startTask: Task<(UInt64, Double?, Double?), Never>

    /// Takes the first sample at monotonic time `at` (after the warm-up).
    init(serverPid: Int32?, at: UInt64) {
        self.serverPid = serverPid
        startTask = Task {
            let now = monotonicNanos()
            if at > now { try? await Task.sleep(for: .nanoseconds(Int64(at - now))) }
            return (monotonicNanos(), cpuSeconds(pid: getpid()), serverPid.flatMap(cpuSeconds(pid:)))
        }
    }

    /// Takes the second sample (now, which should be the end of the window).
    func usage(until end: UInt64) async -> Usage {
        let (t0, harness0, server0) = await startTask.value
        let t1 = monotonicNanos()
        let harness1 = cpuSeconds(pid: getpid())
        let server1 = serverPid.flatMap(cpuSeconds(pid:))
        let seconds = Double(t1 - t0) / 1e9
        guard seconds > 0 else { return Usage() }
        var usage = Usage()
        if let a = harness0, let b = harness1 { usage.harness = (b - a) / seconds }
        if let a = server0, let b = server1 { usage.server = (b - a) / seconds }
        return usage
    }
}
