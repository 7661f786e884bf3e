import Dispatch
import Foundation
import LiaisonSync

/// SIGTERM and SIGINT, caught for the life of the process: each runs what `onStop` last set (a server's
/// graceful stop). Installed once: a signal source cancelled and made again does not always see the signal.
final class StopSignals: @unchecked Sendable {
    private let action = Locked<@Sendable () -> Void>({})
    private let stopped = Locked(false)
    /// Kept for the life of the process (never touched after `init`).
    private let sources: [any DispatchSourceSignal]

    init() {
        let action = action, stopped = stopped
        sources = [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                stopped.withLock { $0 = true }
                action.withLock { $0 }()
            }
            source.resume()
            return source
        }
    }

    /// Whether a stop signal has come.
    var received: Bool { stopped.withLock { $0 } }

    /// What a signal does from now on; if one already came, it runs at once.
    func onStop(_ stop: @escaping @Sendable () -> Void) {
        action.withLock { $0 = stop }
        if received { stop() }
    }
}
