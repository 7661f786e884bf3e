import CLibWebSockets
import LiaisonCore
import LiaisonSync

/// The domain's `Transport`: other threads queue commands here and wake the service thread once per
/// batch; the service thread drains them into connections' outboxes.
final class OutboundQueue: Transport, Sendable {
    enum Command {
        case send(OutboundFrame, [Connection])
        case close(Connection, CloseCode, String)
        /// The next step of an HTTP exchange, decided off the service thread.
        case http(HTTPExchange, HTTPExchange.Step)
        /// A streamed HTTP response has more to send.
        case writable(HTTPStream)
    }

    private let commands = Locked<[Command]>([])
    /// The context whose service wait `interrupt()` cancels; set once it exists.
    private let context = Locked<ContextHandle?>(nil)

    func attach(_ context: ContextHandle) {
        self.context.withLock { $0 = context }
    }

    /// Forgets the context before it is destroyed; waits for a wake-up in progress, so none reaches a
    /// destroyed context (sessions and timers may still send after the server stopped).
    func detach() {
        context.withLock { $0 = nil }
    }

    let backlogLimit: Int

    init(backlogLimit: Int) {
        self.backlogLimit = backlogLimit
    }

    /// Peers are this transport's connections (the only peers it hands the domain); anything else is
    /// not one of its connections and is skipped.
    func send(_ frame: OutboundFrame, to peers: [any Peer]) {
        let connections = peers.compactMap { $0 as? Connection }
        guard !connections.isEmpty else { return }
        for connection in connections { connection.backlog.add(frame.count, ordering: .relaxed) }
        push(.send(frame, connections))
    }

    func backlog(of peer: any Peer) -> Int {
        (peer as? Connection)?.backlog.load(ordering: .relaxed) ?? 0
    }

    func close(_ peer: any Peer, code: CloseCode, reason: String) {
        guard let connection = peer as? Connection else { return }
        push(.close(connection, code, reason))
    }

    /// Hands the service thread the next step of an HTTP exchange.
    func http(_ exchange: HTTPExchange, _ step: HTTPExchange.Step) {
        push(.http(exchange, step))
    }

    /// Asks the service thread for a writable callback of `stream`'s connection.
    func wake(_ stream: HTTPStream) {
        push(.writable(stream))
    }

    /// Wakes the service thread (`lws_cancel_service`, the one lws call safe from any thread).
    func interrupt() {
        context.withLock { context in
            if let context { lws_cancel_service(context.pointer) }
        }
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
