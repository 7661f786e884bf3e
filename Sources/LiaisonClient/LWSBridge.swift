// The one file that talks to libwebsockets. Everything here runs on the
// engine's service thread, except `LWSContext.cancelService` (the only lws
// call libwebsockets allows from other threads) and `EngineCore.shutdown`.

import CLibWebSockets
import Dispatch
import Foundation
import LiaisonSync

/// The `lws_context` pointer, for `lws_cancel_service` from other threads.
struct LWSContext: @unchecked Sendable {
    let pointer: OpaquePointer

    func cancelService() {
        lws_cancel_service(pointer)
    }
}

/// Signals the end of the service thread.
struct ThreadDone: @unchecked Sendable {
    let semaphore = DispatchSemaphore(value: 0)
}

/// Per-connection state that only the service thread touches.
final class LWSSide: @unchecked Sendable {
    /// The connection's wsi while lws knows it; never used as a key.
    var wsi: OpaquePointer?
    /// Fragments of the message being received.
    var receiving: [UInt8] = []
    /// Code and reason of the server's close frame.
    var peerClose: CloseInfo?
    /// `true` while lws holds our +1 reference (its opaque user pointer).
    var retained = false
}

/// The name of our lws protocol (local only; the subprotocol asked for is separate).
private nonisolated(unsafe) let protocolName = strdup("liaison-client")!

/// An lws protocol table: ours, then the terminator.
private func makeProtocolTable(receiveBufferSize: Int) -> UnsafeMutablePointer<lws_protocols> {
    let table = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
    table.initialize(repeating: lws_protocols(), count: 2)
    table[0].name = UnsafePointer(protocolName)
    table[0].callback = liaisonClientCallback
    table[0].per_session_data_size = 0
    table[0].rx_buffer_size = max(0, receiveBufferSize)
    return table
}

// MARK: - Context and service thread

extension EngineCore {
    /// Starts the service thread, which creates the context; throws if it cannot.
    func startServiceThread() throws(ClientError) {
        let started = DispatchSemaphore(value: 0)
        let failure = Locked<ClientError?>(nil)
        let done = ThreadDone()
        let thread = Thread { [self] in
            Thread.current.name = "liaison-lws"  // also names the OS thread
            self.serviceThreadID.withLock { $0 = pthread_self() }
            let protocols = makeProtocolTable(receiveBufferSize: self.options.receiveBufferSize)
            defer { protocols.deallocate() }
            guard let context = self.createContext(protocols) else {
                failure.withLock { $0 = .connectFailed("lws_create_context failed") }
                started.signal()
                done.semaphore.signal()
                return
            }
            self.queues.withLock { $0.context = LWSContext(pointer: context) }
            started.signal()
            self.serviceLoop(context)
            done.semaphore.signal()
        }
        serviceThread.withLock { $0 = .running(done) }
        thread.start()
        started.wait()
        if let error = failure.withLock({ $0 }) {
            serviceThread.withLock { $0 = .stopped }
            throw error
        }
    }

    private func createContext(_ protocols: UnsafeMutablePointer<lws_protocols>) -> OpaquePointer? {
        let logLevel = options.libwebsocketsLogging ? (LLL_ERR | LLL_WARN) : 0
        lws_set_log_level(logLevel, nil)
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.options = UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.timeout_secs = UInt32(max(1, options.connectTimeout))
        info.connect_timeout_secs = UInt32(max(1, options.connectTimeout))
        info.gid = -1
        info.uid = -1
        let caFile = options.caFile.map { strdup($0) }
        defer { caFile.flatMap { free($0) } }
        if let caFile { info.client_ssl_ca_filepath = UnsafePointer(caFile) }
        return lws_create_context(&info)
    }

    private func serviceLoop(_ context: OpaquePointer) {
        // Running.
        while !queues.withLock({ $0.stopRequested }) {
            if lws_service(context, 0) < 0 { break }
        }
        // Closing: ask every connection to close, give them until `forceStop`.
        failPendingConnects()
        for connection in live.values { connection.close(code: 1000, reason: "") }
        while !live.isEmpty && !queues.withLock({ $0.forceStop }) {
            if lws_service(context, 0) < 0 { break }
        }
        // Destroying: lws closes what is left (each gets its CLOSED / WSI_DESTROY now).
        queues.withLock {
            $0.contextDestroyed = true
            $0.context = nil
        }
        lws_context_destroy(context)
        failPendingConnects()
        for connection in live.values {
            connection.finish(CloseInfo(code: nil, reason: "engine stopped"), connectError: .engineStopped)
        }
        live = [:]
    }

    private func failPendingConnects() {
        let (_, connects) = takeWork()
        for connection in connects {
            connection.finish(CloseInfo(code: nil, reason: "engine stopped"), connectError: .engineStopped)
        }
    }

    /// Stops the engine (see ``ClientEngine/shutdown(grace:)``).
    func shutdown(grace: Duration) {
        let done: ThreadDone? = serviceThread.withLock { state in
            guard case .running(let done) = state else { return nil }
            state = .stopped
            return done
        }
        guard let done else { return }
        queues.withLock { q in
            q.stopRequested = true
            q.context?.cancelService()
        }
        // Called on the service thread itself (e.g. from a callback): it stops on its own; cannot wait for itself.
        if let id = serviceThreadID.withLock({ $0 }), pthread_equal(id, pthread_self()) != 0 { return }
        let millis = Int(grace.components.seconds * 1000 + grace.components.attoseconds / 1_000_000_000_000_000)
        if done.semaphore.wait(timeout: .now() + .milliseconds(max(0, millis))) == .timedOut {
            queues.withLock { q in
                q.forceStop = true
                q.context?.cancelService()
            }
            done.semaphore.wait()
        }
    }

    // MARK: Work handed over by other threads

    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`: open queued connections, arm writes.
    func serviceWakeUp() {
        let (dirty, connects) = takeWork()
        for connection in connects { open(connection) }
        for connection in dirty {
            connection.clearDirty()
            if let wsi = connection.lws.wsi, connection.isEstablishedOnServiceThread {
                lws_callback_on_writable(wsi)
            }
        }
    }

    private func open(_ connection: ClientConnection) {
        let o = connection.options
        let strings = [o.host, o.path, o.hostHeader ?? "\(o.host):\(o.port)", o.host, o.subprotocol,
                       o.sourceAddress ?? "", "http/1.1"].map { (s: String) in s }.map { strdup($0)! }
        defer { strings.forEach { free($0) } }
        var info = lws_client_connect_info()
        info.context = queues.withLock { $0.context?.pointer }
        info.address = UnsafePointer(strings[0])
        info.port = Int32(o.port)
        info.path = UnsafePointer(strings[1])
        info.host = UnsafePointer(strings[2])
        info.origin = UnsafePointer(strings[3])
        info.protocol = UnsafePointer(strings[4])
        info.local_protocol_name = UnsafePointer(protocolName)
        if o.sourceAddress != nil { info.iface = UnsafePointer(strings[5]) }
        switch o.tls {
        case .off:
            info.ssl_connection = 0
        case .verified:
            info.ssl_connection = Int32(LCCSCF_USE_SSL.rawValue)
            info.alpn = UnsafePointer(strings[6])
        case .allowSelfSigned:
            info.ssl_connection = Int32(LCCSCF_USE_SSL.rawValue | LCCSCF_ALLOW_SELFSIGNED.rawValue
                | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK.rawValue | LCCSCF_ALLOW_INSECURE.rawValue
                | LCCSCF_ALLOW_EXPIRED.rawValue)
            info.alpn = UnsafePointer(strings[6])
        }
        live[ObjectIdentifier(connection)] = connection
        connection.lws.retained = true
        info.opaque_user_data = Unmanaged.passRetained(connection).toOpaque()
        let wsi = lws_client_connect_via_info(&info)
        if let wsi {
            if connection.lws.retained { connection.lws.wsi = wsi }
        } else {
            // Failed before (or while) starting; lws may or may not have destroyed a wsi.
            connection.finish(CloseInfo(code: nil, reason: "connect failed"),
                              connectError: .connectFailed("cannot start a connection to \(o.host):\(o.port)"))
            release(connection, wsi: nil)
        }
    }

    /// Drops lws's reference to the connection (once).
    func release(_ connection: ClientConnection, wsi: OpaquePointer?) {
        guard connection.lws.retained else { return }
        connection.lws.retained = false
        connection.lws.wsi = nil
        connection.lws.receiving = []
        if let wsi { lws_set_opaque_user_data(wsi, nil) }
        live[ObjectIdentifier(connection)] = nil
        Unmanaged.passUnretained(connection).release()
    }
}

extension ClientConnection {
    var isEstablishedOnServiceThread: Bool {
        state.withLock { $0.phase == .open }
    }
}

// MARK: - The callback

/// The protocol callback of every client wsi (a plain function: no captures).
/// Reaches the engine through `lws_context_user` and the connection through the
/// wsi's opaque user pointer (a retained `ClientConnection`).
private func liaisonClientCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
    _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi else { return 0 }
    switch reason {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        engine(of: wsi)?.serviceWakeUp()
        return 0

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        guard let connection = connection(of: wsi) else { return 0 }
        connection.lws.wsi = wsi
        connection.didEstablish()
        if connection.hasOutbound { lws_callback_on_writable(wsi) }
        return 0

    case LWS_CALLBACK_CLIENT_RECEIVE:
        guard let connection = connection(of: wsi) else { return 0 }
        return connection.receive(wsi, input, length)

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        guard let connection = connection(of: wsi) else { return 0 }
        return connection.writable(wsi)

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        guard let connection = connection(of: wsi) else { return 0 }
        connection.lws.peerClose = peerCloseInfo(input, length)
        return 0

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        guard let connection = connection(of: wsi) else { return 0 }
        let why = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "connection error"
        connection.finish(CloseInfo(code: nil, reason: why), connectError: .connectFailed(why))
        return 0

    case LWS_CALLBACK_CLIENT_CLOSED:
        guard let connection = connection(of: wsi) else { return 0 }
        connection.finish(connection.lws.peerClose ?? CloseInfo(code: nil, reason: "connection lost"))
        connection.lws.wsi = nil
        return 0

    case LWS_CALLBACK_WSI_DESTROY:
        guard let connection = connection(of: wsi), let engine = engine(of: wsi) else { return 0 }
        connection.finish(connection.lws.peerClose ?? CloseInfo(code: nil, reason: "connection lost"),
                          connectError: .connectFailed("connection destroyed"))
        engine.release(connection, wsi: wsi)
        return 0

    default:
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
}

private func engine(of wsi: OpaquePointer) -> EngineCore? {
    guard let context = lws_get_context(wsi), let pointer = lws_context_user(context) else { return nil }
    return Unmanaged<EngineCore>.fromOpaque(pointer).takeUnretainedValue()
}

private func connection(of wsi: OpaquePointer) -> ClientConnection? {
    guard let pointer = lws_get_opaque_user_data(wsi) else { return nil }
    return Unmanaged<ClientConnection>.fromOpaque(pointer).takeUnretainedValue()
}

/// The payload of a close frame: a big-endian code, then a UTF-8 reason.
private func peerCloseInfo(_ input: UnsafeMutableRawPointer?, _ length: Int) -> CloseInfo {
    guard let input, length >= 2 else { return CloseInfo(code: 1005, reason: "") }
    let bytes = input.assumingMemoryBound(to: UInt8.self)
    let code = Int(bytes[0]) << 8 | Int(bytes[1])
    let reason = String(decoding: UnsafeBufferPointer(start: bytes + 2, count: length - 2), as: UTF8.self)
    return CloseInfo(code: code, reason: reason)
}

// MARK: - Reading and writing

extension ClientConnection {
    /// One piece of an inbound message; complete messages are parsed and routed.
    fileprivate func receive(_ wsi: OpaquePointer, _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        let final = lws_is_final_fragment(wsi) != 0
        if lws.receiving.isEmpty && final {
            // The common case: the whole message in one piece, parsed in place.
            deliver(UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
            return 0
        }
        if let input, length > 0 {
            lws.receiving.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
        }
        if lws.receiving.count > options.maxMessageBytes {
            lws.receiving = []
            let reason = Array("message too big".utf8)
            reason.withUnsafeBufferPointer { r in
                lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, UnsafeMutablePointer(mutating: r.baseAddress), r.count)
            }
            return -1
        }
        if final {
            let message = lws.receiving
            lws.receiving = []
            message.withUnsafeBytes { deliver($0) }
        }
        return 0
    }

    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let interceptor = options.messageInterceptor, interceptor(bytes) { return }
        guard let frame = try? JSON.parse(bytes) else {
            didReceive(["type": "client.unparsable", "text": .string(String(decoding: bytes, as: UTF8.self))])
            return
        }
        didReceive(frame)
    }

    /// Writes one frame (or the close) and re-arms while more is queued.
    fileprivate func writable(_ wsi: OpaquePointer) -> Int32 {
        switch nextOutbound() {
        case .idle:
            return 0
        case .close(let request):
            var reason = request.reason
            reason.withUnsafeMutableBufferPointer { r in
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(request.code)), r.baseAddress, r.count)
            }
            return -1
        case .frame(var frame, let more):
            let payload = frame.bytes.count - OutFrame.headroom
            let written = frame.bytes.withUnsafeMutableBufferPointer { buffer in
                lws_write(wsi, buffer.baseAddress! + OutFrame.headroom, payload,
                          frame.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT)
            }
            if written < Int32(payload) { return -1 }
            if more { lws_callback_on_writable(wsi) }
            return 0
        }
    }
}
