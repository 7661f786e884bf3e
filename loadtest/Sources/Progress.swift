import Synchronization

/// Counters the scenarios bump and the progress line reads.
final class Counters: Sendable {
    let opened = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let operations = Atomic<Int>(0)
}

/// A live status line on stderr, refreshed every second, only when stderr is a terminal.
final class ProgressLine: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Starts refreshing; `render` gets the operations per second since the last refresh.
    func start(_ render: @escaping @Sendable (_ operationsPerSecond: Double) -> String, counters: Counters) {
        guard stderrIsTerminal else { return }
        let refresh = Task {
            var lastOps = counters.operations.load(ordering: .relaxed)
            var lastTime = monotonicNanos()
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let ops = counters.operations.load(ordering: .relaxed)
                let now = monotonicNanos()
                let rate = Double(ops - lastOps) / (Double(now - lastTime) / 1e9)
                lastOps = ops
                lastTime = now
                printError("\r\u{1B}[K" + render(rate))
            }
        }
        task.withLock { $0 = refresh }
    }

    func stop() {
        guard let refresh = task.withLock({ t -> Task<Void, Never>? in defer { t = nil }; return t }) else { return }
        refresh.cancel()
        printError("\r\u{1B}[K")
    }
}
