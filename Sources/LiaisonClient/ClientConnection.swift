import Synchronization
import LiaisonSync

/// One WebSocket connection to a Liaison server, made by ``ClientEngine/connect(_:)``.
///
/// Safe to use from any thread or task. Requests are matched to their replies
/// by `id`, so many may be in flight at once; frames go out in the order they
/// were handed over. Server events (frames without an `id`, or with an `id`
/// that matches no pending request) arrive in order on ``events``.
///
/// ```swift
/// let connection = try await engine.connect(ConnectOptions(port: 8080))
/// let me = try await connection.hello(token: jwt, device: "ipad-7")
/// try await connection.synced()
/// try await connection.request("presence.set", ["status": "online"]).get()
/// for await event in connection.events { print(event) }
/// ```
public final class ClientConnection: Sendable {
    /// What this connection was opened with.
    public let options: ConnectOptions
    /// A number unique within its engine, for logs.
    public let number: Int
    /// Server events in arrival order: every frame without an `id` (`presence`,
    /// `msg`, `synced`, …) and replies nobody is waiting for. Finishes when the
    /// connection closes. One consumer at a time. A message that is not JSON arrives as
    /// `{"type": "client.unparsable", "text": …}`.
    public let events: AsyncStream<JSON>

    let eventSink: AsyncStream<JSON>.Continuation
    let engine: EngineCore
    let state: Locked<State>
    let nextRequestID = Atomic<UInt64>(0)
    /// Touched only on the engine's libwebsockets thread.
    let lws: LWSSide

    init(engine: EngineCore, options: ConnectOptions, number: Int) {
        self.engine = engine
        self.options = options
        self.number = number
        let policy: AsyncStream<JSON>.Continuation.BufferingPolicy =
            options.eventBufferLimit.map { .bufferingNewest(Swift.max(1, $0)) } ?? .unbounded
        (events, eventSink) = AsyncStream.makeStream(of: JSON.self, bufferingPolicy: policy)
        state = Locked(State())
        lws = LWSSide()
    }

    // MARK: Sending

    /// Sends one frame as it is (no `id` is added, no reply awaited).
    ///
    /// Throws ``ClientError/closed(_:)`` once the connection is closed or closing.
    public func send(_ frame: JSON) throws(ClientError) {
        try enqueue(OutFrame(json: frame))
    }

    /// Sends a text frame with exactly this text (which need not be JSON: for testing servers).
    public func sendText(_ text: String) throws(ClientError) {
        try enqueue(OutFrame(payload: Array(text.utf8), binary: false))
    }

    /// Sends a binary frame.
    public func sendBinary(_ bytes: [UInt8]) throws(ClientError) {
        try enqueue(OutFrame(payload: bytes, binary: true))
    }

    /// Sends `{"type": type, "id": <fresh>, …fields}` and waits for the reply with that `id`.
    ///
    /// Returns the reply, `ok` or `error` (``Reply/get()`` turns an `error` into a thrown
    /// ``ServerError``). Throws ``ClientError/closed(_:)`` when the connection closes first.
    /// A pending request is not cancelled by task cancellation: the server answers every request.
    /// With a `timeout`, throws ``ClientError/timedOut(_:)`` if no reply came within it (a late
    /// reply is then delivered on ``events``).
    public func request(_ type: String, _ fields: [String: JSON] = [:], timeout: Duration? = nil) async throws(ClientError) -> Reply {
        let id = String(nextRequestID.add(1, ordering: .relaxed).newValue)
        var members = fields
        members["type"] = .string(type)
        members["id"] = .string(id)
        let frame = OutFrame(json: .object(members))
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Reply, any Error>) in
                let outcome = state.withLock { s -> EnqueueOutcome in
                    if let info = s.closeInfo ?? s.closingInfo { return .refused(info) }
                    s.pending[id] = continuation
                    return s.append(frame)
                }
                complete(outcome, refusing: continuation)
                if let timeout, case .queued = outcome {
                    Task { [self] in
                        try? await Task.sleep(for: timeout)
                        if let waiter = state.withLock({ $0.pending.removeValue(forKey: id) }) {
                            waiter.resume(throwing: ClientError.timedOut("\(type) (id \(id))"))
                        }
                    }
                }
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw .closed(CloseInfo(code: nil, reason: "\(error)"))
        }
    }

    /// Sends `hello` and returns the server's `ok`.
    ///
    /// Throws ``ServerError`` (`unauthorized`…) when the server refuses; the server then
    /// closes the connection with 4401 (see ``closed()``).
    public func hello(
        token: String, device: String, client: String = "liaison-swift/1", timeout: Duration? = .seconds(30)
    ) async throws -> HelloOK {
        let reply = try await request(
            "hello", ["token": .string(token), "device": .string(device), "client": .string(client)], timeout: timeout)
        return try HelloOK(frame: try reply.get())
    }

    /// Waits for the server's `synced` event (sent after `hello` once missed items are replayed).
    ///
    /// Returns at once if it already came. The event is also delivered on ``events``.
    public func synced() async throws(ClientError) {
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result = state.withLock { s -> Result<Bool, ClientError> in
                    if s.synced { return .success(true) }
                    if let info = s.closeInfo { return .failure(.closed(info)) }
                    s.syncedWaiters.append(continuation)
                    return .success(false)
                }
                switch result {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw .closed(CloseInfo(code: nil, reason: "\(error)"))
        }
    }

    /// `true` once the `synced` event arrived.
    public var isSynced: Bool { state.withLock { $0.synced } }

    // MARK: Closing

    /// Closes the connection with `code` (default 1000) after the frames already queued are sent.
    public func close(code: Int = 1000, reason: String = "") {
        let outcome = state.withLock { s -> EnqueueOutcome in
            guard s.closeInfo == nil, s.closeRequest == nil else { return .queued(wake: false) }
            s.closeRequest = CloseRequest(code: UInt16(clamping: code), reason: Array(reason.utf8.prefix(123)))
            s.closingInfo = CloseInfo(code: code, reason: reason, initiatedLocally: true)
            return s.markDirty()
        }
        if case .queued(wake: true) = outcome { engine.markDirty(self) }
    }

    /// How the connection ended, or `nil` while it is open.
    public var closeInfo: CloseInfo? { state.withLock { $0.closeInfo } }

    /// The close code the server sent, or `nil` (still open, or no close frame).
    public var closeCode: Int? { closeInfo?.code }

    /// `true` until the connection has closed.
    public var isOpen: Bool { state.withLock { $0.closeInfo == nil } }

    /// Waits until the connection has closed and returns how.
    public func closed() async -> CloseInfo {
        await withCheckedContinuation { (continuation: CheckedContinuation<CloseInfo, Never>) in
            let info = state.withLock { s -> CloseInfo? in
                if let info = s.closeInfo { return info }
                s.closeWaiters.append(continuation)
                return nil
            }
            if let info { continuation.resume(returning: info) }
        }
    }

    /// Bytes queued for sending and not yet handed to the socket.
    public var queuedBytes: Int { state.withLock { $0.queuedBytes } }

    // MARK: - Internals shared with the libwebsockets side

    func enqueue(_ frame: OutFrame) throws(ClientError) {
        let outcome = state.withLock { s -> EnqueueOutcome in
            if let info = s.closeInfo ?? s.closingInfo { return .refused(info) }
            return s.append(frame)
        }
        switch outcome {
        case .queued(wake: true): engine.markDirty(self)
        case .queued(wake: false): break
        case .refused(let info): throw .closed(info)
        }
    }

    private func complete(_ outcome: EnqueueOutcome, refusing continuation: CheckedContinuation<Reply, any Error>) {
        switch outcome {
        case .queued(wake: true): engine.markDirty(self)
        case .queued(wake: false): break
        case .refused(let info): continuation.resume(throwing: ClientError.closed(info))
        }
    }

    /// Called by the engine's thread when it takes this connection off the dirty list.
    func clearDirty() {
        state.withLock { $0.inDirtyList = false }
    }

    /// The next thing the socket should do when writable.
    func nextOutbound() -> Outbound {
        state.withLock { s in
            if s.head < s.outbox.count {
                let frame = s.outbox[s.head]
                s.outbox[s.head] = OutFrame.empty
                s.head += 1
                s.queuedBytes -= frame.bytes.count - OutFrame.headroom
                if s.head == s.outbox.count {
                    s.outbox.removeAll(keepingCapacity: s.outbox.count <= 64)
                    s.head = 0
                } else if s.head >= 1024, s.head * 2 >= s.outbox.count {
                    s.outbox.removeFirst(s.head)
                    s.head = 0
                }
                let more = s.head < s.outbox.count || s.closeRequest != nil
                return .frame(frame, more: more)
            }
            if let request = s.closeRequest { return .close(request) }
            return .idle
        }
    }

    /// Whether anything waits to be written (checked when the connection becomes established).
    var hasOutbound: Bool {
        state.withLock { $0.head < $0.outbox.count || $0.closeRequest != nil }
    }

    func didEstablish() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            s.phase = .open
            defer { s.connectWaiter = nil }
            return s.connectWaiter
        }
        engine.connectionOpened()
        waiter?.resume()
    }

    /// Routes one complete inbound message.
    func didReceive(_ frame: JSON) {
        if let id = frame["id"]?.string,
            let type = frame["type"]?.string, type == "ok" || type == "error",
            let waiter = state.withLock({ $0.pending.removeValue(forKey: id) })
        {
            waiter.resume(returning: Reply(frame: frame))
            return
        }
        if frame["type"]?.string == "synced" {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
                s.synced = true
                defer { s.syncedWaiters = [] }
                return s.syncedWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
        eventSink.yield(frame)
    }

    /// Ends the connection (idempotent): fails what is pending, finishes ``events``.
    func finish(_ info: CloseInfo, connectError: ClientError? = nil) {
        let ended = state.withLock { s -> Ended? in
            guard s.closeInfo == nil else { return nil }
            let final = s.closingInfo.map { local in info.code == nil ? local : info } ?? info
            s.closeInfo = final
            let wasOpen = s.phase == .open
            s.phase = .closed
            let ended = Ended(info: final, wasOpen: wasOpen, connectWaiter: s.connectWaiter, pending: Array(s.pending.values),
                              synced: s.syncedWaiters, closed: s.closeWaiters)
            s.connectWaiter = nil
            s.pending = [:]
            s.syncedWaiters = []
            s.closeWaiters = []
            s.outbox = []
            s.head = 0
            s.queuedBytes = 0
            s.closeRequest = nil
            return ended
        }
        guard let ended else { return }
        ended.connectWaiter?.resume(throwing: connectError ?? ClientError.closed(ended.info))
        for waiter in ended.pending { waiter.resume(throwing: ClientError.closed(ended.info)) }
        for waiter in ended.synced { waiter.resume(throwing: ClientError.closed(ended.info)) }
        for waiter in ended.closed { waiter.resume(returning: ended.info) }
        eventSink.finish()
        engine.connectionEnded(wasOpen: ended.wasOpen)
    }

    func setConnectWaiter(_ continuation: CheckedContinuation<Void, any Error>) {
        state.withLock { $0.connectWaiter = continuation }
    }
}

// MARK: - State

/// A frame ready for `lws_write`: `headroom` spare bytes, then the payload.
struct OutFrame: Sendable {
    /// libwebsockets' `LWS_PRE` on this platform (the macro cannot be imported).
    static let headroom = 16
    static let empty = OutFrame(bytes: [], binary: false)

    var bytes: [UInt8]
    var binary: Bool

    private init(bytes: [UInt8], binary: Bool) {
        self.bytes = bytes
        self.binary = binary
    }

    init(json: JSON) {
        var buffer = [UInt8](repeating: 0, count: Self.headroom)
        buffer.reserveCapacity(128)
        json.encode(into: &buffer)
        self.init(bytes: buffer, binary: false)
    }

    init(payload: [UInt8], binary: Bool) {
        var buffer = [UInt8](repeating: 0, count: Self.headroom)
        buffer.append(contentsOf: payload)
        self.init(bytes: buffer, binary: binary)
    }
}

struct CloseRequest: Sendable {
    var code: UInt16
    var reason: [UInt8]
}

enum Outbound {
    case frame(OutFrame, more: Bool)
    case close(CloseRequest)
    case idle
}

enum EnqueueOutcome {
    case queued(wake: Bool)
    case refused(CloseInfo)
}

struct Ended {
    var info: CloseInfo
    var wasOpen: Bool
    var connectWaiter: CheckedContinuation<Void, any Error>?
    var pending: [CheckedContinuation<Reply, any Error>]
    var synced: [CheckedContinuation<Void, any Error>]
    var closed: [CheckedContinuation<CloseInfo, Never>]
}

extension ClientConnection {
    struct State: Sendable {
        enum Phase: Sendable { case connecting, open, closed }

        var phase = Phase.connecting
        var outbox: [OutFrame] = []
        var head = 0
        var queuedBytes = 0
        var closeRequest: CloseRequest?
        /// Set when `close()` was called: refuses new frames, and explains the close.
        var closingInfo: CloseInfo?
        var inDirtyList = false
        var pending: [String: CheckedContinuation<Reply, any Error>] = [:]
        var connectWaiter: CheckedContinuation<Void, any Error>?
        var synced = false
        var syncedWaiters: [CheckedContinuation<Void, any Error>] = []
        var closeInfo: CloseInfo?
        var closeWaiters: [CheckedContinuation<CloseInfo, Never>] = []

        mutating func append(_ frame: OutFrame) -> EnqueueOutcome {
            outbox.append(frame)
            queuedBytes += frame.bytes.count - OutFrame.headroom
            return markDirty()
        }

        /// Puts the connection on the engine's dirty list unless it is there already
        /// or not yet established (establishing checks the outbox itself).
        mutating func markDirty() -> EnqueueOutcome {
            guard phase == .open, !inDirtyList else { return .queued(wake: false) }
            inDirtyList = true
            return .queued(wake: true)
        }
    }
}
