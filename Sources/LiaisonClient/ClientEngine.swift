import Synchronization
import LiaisonSync

/// One libwebsockets client context, serviced on its own thread, that opens
/// and drives any number of ``ClientConnection``s.
///
/// All socket work happens on the engine's dedicated thread; connections hand
/// it frames through lock-protected outboxes, so every method here and on
/// ``ClientConnection`` may be called from any thread or task.
///
/// Keep the engine alive while its connections are in use: shutting it down
/// (or releasing it) closes them all.
///
/// ```swift
/// let engine = try ClientEngine()
/// let connection = try await engine.connect(ConnectOptions(host: "127.0.0.1", port: 8080))
/// ```
public final class ClientEngine: Sendable {
    let core: EngineCore

    /// Creates the libwebsockets context and starts its service thread.
    ///
    /// The context sizes its file-descriptor table from `ulimit -n` at this
    /// moment: raise the limit before creating an engine for many connections.
    public init(options: EngineOptions = EngineOptions()) throws(ClientError) {
        core = EngineCore(options: options)
        try core.startServiceThread()
    }

    deinit {
        core.shutdown(grace: .milliseconds(500))
    }

    /// Opens a WebSocket connection and returns once the upgrade succeeded.
    ///
    /// Throws ``ClientError/connectFailed(_:)`` when the server cannot be
    /// reached or refuses the upgrade, ``ClientError/engineStopped`` after ``shutdown(grace:)``.
    public func connect(_ options: ConnectOptions) async throws(ClientError) -> ClientConnection {
        let connection = ClientConnection(engine: core, options: options, number: core.nextConnectionNumber())
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                connection.setConnectWaiter(continuation)
                core.enqueueConnect(connection)
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw .connectFailed("\(error)")
        }
        return connection
    }

    /// Connects to the first of `servers` that accepts, trying them in order (the nodes of a cluster, each
    /// serving the whole protocol); throws the last one's error if none does.
    public func connect(anyOf servers: [ConnectOptions]) async throws(ClientError) -> ClientConnection {
        var lastError = ClientError.connectFailed("no server to connect to")
        for options in servers {
            do {
                return try await connect(options)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Connections currently established.
    public var openConnections: Int { core.openCount.load(ordering: .relaxed) }

    /// Closes every connection (code 1000, waiting up to `grace` for them to
    /// finish), destroys the context and stops the thread. Blocks until done;
    /// idempotent.
    public func shutdown(grace: Duration = .seconds(2)) {
        core.shutdown(grace: grace)
    }
}

/// The engine's shared state. Lock-protected parts may be touched from any
/// thread; the rest only on the service thread (see `LWSBridge.swift`).
final class EngineCore: @unchecked Sendable {
    struct Queues: Sendable {
        /// Connections with something to write, waiting for the service thread.
        var dirty: [ClientConnection] = []
        /// Connections to open, waiting for the service thread.
        var connects: [ClientConnection] = []
        /// `shutdown` was asked for: no new work is accepted.
        var stopRequested = false
        /// The grace period of `shutdown` is over: destroy the context now.
        var forceStop = false
        /// The context is gone: `lws_cancel_service` may no longer be called.
        var contextDestroyed = false
        /// The context while it exists, for `lws_cancel_service`.
        var context: LWSContext?
    }

    let options: EngineOptions
    let queues = Locked(Queues())
    let openCount = Atomic<Int>(0)
    let connectionNumbers = Atomic<Int>(0)
    let serviceThread = Locked<ServiceThreadState>(.notStarted)
    let serviceThreadID = Locked<ThreadID?>(nil)

    /// Service thread only: every connection that has a wsi (or is being connected).
    var live: [ObjectIdentifier: ClientConnection] = [:]

    init(options: EngineOptions) {
        self.options = options
    }

    func nextConnectionNumber() -> Int {
        connectionNumbers.add(1, ordering: .relaxed).newValue
    }

    func connectionOpened() {
        openCount.add(1, ordering: .relaxed)
    }

    func connectionEnded(wasOpen: Bool) {
        if wasOpen { openCount.subtract(1, ordering: .relaxed) }
    }

    /// Queues a connection to be opened by the service thread.
    func enqueueConnect(_ connection: ClientConnection) {
        let accepted = queues.withLock { q -> Bool in
            guard !q.stopRequested else { return false }
            q.connects.append(connection)
            if q.connects.count == 1 && q.dirty.isEmpty { q.context?.cancelService() }
            return true
        }
        if !accepted {
            connection.finish(CloseInfo(code: nil, reason: "engine stopped"), connectError: .engineStopped)
        }
    }

    /// Puts a connection on the dirty list and wakes the service thread when the
    /// list was empty (one wake-up per batch).
    func markDirty(_ connection: ClientConnection) {
        queues.withLock { q in
            guard !q.contextDestroyed else { return }
            q.dirty.append(connection)
            if q.dirty.count == 1 && q.connects.isEmpty { q.context?.cancelService() }
        }
    }

    func takeWork() -> (dirty: [ClientConnection], connects: [ClientConnection]) {
        queues.withLock { q in
            defer {
                q.dirty = []
                q.connects = []
            }
            return (q.dirty, q.connects)
        }
    }
}

#if canImport(Glibc)
import Glibc
typealias ThreadID = pthread_t
#endif

enum ServiceThreadState: Sendable {
    case notStarted
    case running(ThreadDone)
    case stopped
}
