import LiaisonCore
import Synchronization

/// The domain's `Transport`: other threads queue commands here and wake the service thread once per
/// batch; the service thread drains them into connections' outboxes.
final class OutboundQueue: Transport, Sendable {
    enum Command {
        case send(OutboundFrame, [Connection])
        case close(Connection, CloseCode, String)
    }

    private let commands = Mutex<[Command]>([])
    /// Interrupts the service thread's wait (`lws_cancel_service`); set once the context exists.
    private let wake = Mutex<(@Sendable () -> Void)?>(nil)

    func setWake(_ wake: @escaping @Sendable () -> Void) {
        self.wake.withLock { $0 = wake }
    }

    func send(_ frame: OutboundFrame, to peers: [any Peer]) {
        let connections = peers.map { $0 as! Connection }
        push(.send(frame, connections))
    }

    func close(_ peer: any Peer, code: CloseCode, reason: String) {
        push(.close(peer as! Connection, code, reason))
    }

    /// Wakes the service thread without a command (shutdown).
    func interrupt() {
        wake.withLock { $0 }?()
    }

    private func push(_ command: Command) {
        let wasEmpty = commands.withLock { commands in
            commands.append(command)
            return commands.count == 1
        }
        if wasEmpty { interrupt() }
    }

    /// Everything queued so far; called on the service thread.
    func takeAll() -> [Command] {
        commands.withLock { commands in
            defer { commands.removeAll(keepingCapacity: true) }
            return commands
        }
    }
}
