import CLibWebSockets
import Foundation
import LiaisonCore
import Logging
import Synchronization
import LiaisonSync

/// The libwebsockets server: one context, a ws and an optional wss vhost, one service thread.
///
/// This file and `WebSocketServer+Callback.swift` are the server's whole C boundary. Every stored
/// property below `lws-thread state` is touched only on the service thread.
final class WebSocketServer: @unchecked Sendable {
    let configuration: ServerConfiguration
    let queue: OutboundQueue
    let http: HTTPEndpoints
    /// `GET /v1/admin/export`, streamed; nil on a cluster node that relays.
    let adminExport: AdminExportEndpoint?
    /// Opens each connection's session: the hub, or a relay to the cluster's active node.
    let sessions: any SessionOpener
    let logger = Logger(label: "liaison.transport")

    private let stopping = Atomic<Bool>(false)
    /// The close reason clients get at the stop.
    let stopReason = Locked("server shutting down")
    private let finished = Locked<CheckedContinuation<Void, Never>?>(nil)
    let liveConnections = Atomic<Int>(0)

    // lws-thread state
    var context: OpaquePointer?
    var connections: [ObjectIdentifier: Connection] = [:]
    var closingAll = false
    var outboxTotal = 0
    /// The ports the listeners bound (the configured ones, or what the OS chose for port 0).
    private(set) var boundPort = 0
    private(set) var boundTLSPort = 0

    /// Where several queued frames are framed back to back for one write (service thread only).
    let coalescing: UnsafeMutableRawBufferPointer
    /// Frames framed into `coalescing` and not yet reported written (kept to avoid an allocation per write).
    var coalesced: [OutboundFrame] = []

    // C memory that outlives the context.
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let retryPolicy: UnsafeMutablePointer<lws_retry_bo_t>
    /// The extensions the vhosts offer: permessage-deflate with `--compression on`, else none.
    private let extensions: UnsafeMutablePointer<lws_extension>
    private var cStrings: [UnsafeMutablePointer<CChar>] = []

    /// A server whose connections `sessions` opens; `hub` serves the HTTP API that needs the domain (none
    /// without it: a cluster node that relays).
    init(configuration: ServerConfiguration, queue: OutboundQueue, sessions: any SessionOpener, hub: Hub?,
         http: HTTPEndpoints) {
        self.configuration = configuration
        self.queue = queue
        self.sessions = sessions
        self.http = http
        adminExport = hub.map { AdminExportEndpoint(hub: $0) }
        protocols = .allocate(capacity: 2)
        retryPolicy = .allocate(capacity: 1)
        extensions = .allocate(capacity: 2)
        coalescing = .allocate(byteCount: Self.coalescingBytes, alignment: 16)
        precondition(lwss_pre() <= OutboundFrame.headroom, "OutboundFrame.headroom is smaller than LWS_PRE")
    }

    deinit {
        protocols.deallocate()
        retryPolicy.deallocate()
        extensions.deallocate()
        coalescing.deallocate()
        cStrings.forEach { free($0) }
    }

    /// Creates the context and listeners; throws if a port cannot be bound.
    func start() throws {
        lws_set_log_level(lwss_log_errors_and_warnings(), nil)
        let heartbeat = UInt16(clamping: max(1, Int(configuration.hub.heartbeat.rounded(.up))))
        retryPolicy.initialize(to: lws_retry_bo_t())
        retryPolicy.pointee.secs_since_valid_ping = heartbeat
        retryPolicy.pointee.secs_since_valid_hangup = heartbeat &* 2

        protocols.initialize(to: lws_protocols())
        protocols.pointee.name = UnsafePointer(cString("liaison.v1"))
        protocols.pointee.callback = webSocketServerCallback
        protocols.pointee.per_session_data_size = MemoryLayout<UnsafeMutableRawPointer?>.size
        // lws allocates this much per connection for inbound data; larger messages arrive in pieces and are
        // reassembled, so a small buffer keeps idle connections cheap.
        protocols.pointee.rx_buffer_size = 1024
        (protocols + 1).initialize(to: lws_protocols())
        extensions.initialize(to: lws_extension())
        (extensions + 1).initialize(to: lws_extension())
        if configuration.compression {
            extensions.pointee.name = UnsafePointer(cString("permessage-deflate"))
            extensions.pointee.callback = lws_extension_callback_pm_deflate
            extensions.pointee.client_offer = UnsafePointer(cString("permessage-deflate"))
        }

        let tls = configuration.tlsPort > 0 && configuration.tlsCertificate != nil
        var info = lws_context_creation_info()
        info.options = lwss_option_explicit_vhosts() | lwss_option_validate_utf8() | (tls ? lwss_option_ssl_global_init() : 0)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        guard let context = lws_create_context(&info) else { throw ServerError.contextCreation }
        self.context = context
        queue.attach(ContextHandle(pointer: context))

        boundPort = try createVhost(name: "ws", port: configuration.port, tls: false)
        if tls { boundTLSPort = try createVhost(name: "wss", port: configuration.tlsPort, tls: true) }
    }

    private func createVhost(name: String, port: Int, tls: Bool) throws -> Int {
        var info = lws_context_creation_info()
        info.vhost_name = UnsafePointer(cString(name))
        info.port = Int32(port)
        info.iface = UnsafePointer(cString(configuration.host))
        info.protocols = UnsafePointer(protocols)
        // lws turns TLS on for a vhost only when the vhost's own options ask for the SSL init too.
        info.options = lwss_option_validate_utf8() | (tls ? lwss_option_ssl_global_init() : 0)
        info.retry_and_idle_policy = UnsafePointer(retryPolicy)
        if configuration.compression { info.extensions = UnsafePointer(extensions) }
        if tls {
            info.ssl_cert_filepath = UnsafePointer(cString(configuration.tlsCertificate ?? ""))
            info.ssl_private_key_filepath = UnsafePointer(cString(configuration.tlsPrivateKey ?? ""))
        }
        guard let vhost = lws_create_vhost(context, &info) else {
            throw ServerError.listen(name: name, host: configuration.host, port: port)
        }
        return Int(lws_get_vhost_listen_port(vhost))
    }

    private func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        let pointer = strdup(string)!
        cStrings.append(pointer)
        return pointer
    }

    /// Runs the service loop on a dedicated thread until `stop()` has closed every connection.
    func run() async {
        await withCheckedContinuation { continuation in
            finished.withLock { $0 = continuation }
            let thread = Thread { [self] in
                Thread.current.name = "lws-service"
                serviceLoop()
                finished.withLock { $0.take() }?.resume()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func serviceLoop() {
        var deadline: ContinuousClock.Instant?
        while lws_service(context, 0) >= 0 {
            guard stopping.load(ordering: .acquiring) else { continue }
            let now = ContinuousClock.now
            if deadline == nil { deadline = now + .milliseconds(Int64(configuration.shutdownGrace * 1000)) }
            if connections.isEmpty || now >= deadline! { break }
        }
        queue.detach()
        lws_context_destroy(context)
        context = nil
    }

    /// Starts a graceful stop: every client is closed with 1001 and `reason`, then the loop ends.
    func stop(reason: String = "server shutting down") {
        stopReason.withLock { $0 = reason }
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.interrupt()
        // Wake the loop again once the grace has passed, in case no client answers.
        let grace = configuration.shutdownGrace
        DispatchQueue.global().asyncAfter(deadline: .now() + grace + 0.05) { [queue] in queue.interrupt() }
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }
}

/// The context pointer, for the one call other threads may make on it: `lws_cancel_service`.
struct ContextHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

enum ServerError: Error, CustomStringConvertible {
    case contextCreation
    case listen(name: String, host: String, port: Int)

    var description: String {
        switch self {
        case .contextCreation: "libwebsockets could not create its context"
        case .listen(let name, let host, let port): "the \(name) listener could not bind \(host):\(port)"
        }
    }
}
