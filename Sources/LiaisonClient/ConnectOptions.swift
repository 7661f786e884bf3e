/// Where and how one ``ClientConnection`` connects.
public struct ConnectOptions: Sendable {
    /// How the server's certificate is checked on a `wss://` connection.
    public enum TLS: Sendable, Equatable {
        /// Plain `ws://`.
        case off
        /// `wss://` with full verification against the system trust store
        /// (or ``EngineOptions/caFile``) and the host name.
        case verified
        /// `wss://` accepting self-signed and untrusted certificates and any
        /// host name: for tests and benchmarks against a dev certificate only.
        case allowSelfSigned
    }

    /// Server host name or IP address.
    public var host: String
    /// Server port.
    public var port: Int
    /// Request path of the WebSocket upgrade.
    public var path: String
    /// Transport security.
    public var tls: TLS
    /// The WebSocket subprotocol asked for (`Sec-WebSocket-Protocol`).
    public var subprotocol: String
    /// Local IP address to bind the socket to (e.g. `"127.0.0.2"`), or `nil`
    /// to let the kernel choose. Spreading many connections over several
    /// loopback source addresses passes the ~28k ephemeral ports of one.
    public var sourceAddress: String?
    /// The `Host` header; defaults to `host:port`.
    public var hostHeader: String?
    /// How many server events are kept while nobody reads ``ClientConnection/events``:
    /// `nil` keeps all of them; otherwise the oldest are dropped beyond this many.
    public var eventBufferLimit: Int?
    /// Largest inbound message accepted; a bigger one closes the connection with 1009.
    public var maxMessageBytes: Int
    /// Sees every complete inbound message first, as raw bytes, on the engine's service thread,
    /// before it is parsed: return `true` to consume it (it is then neither parsed, matched to a
    /// request nor delivered on ``ClientConnection/events``), `false` to let it through as usual.
    /// For load generators that must not parse every frame; keep it short and never block in it
    /// (sending from it is fine). The bytes are valid only during the call.
    public var messageInterceptor: (@Sendable (UnsafeRawBufferPointer) -> Bool)?

    /// Options for `ws(s)://host:port/path`.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        path: String = "/ws",
        tls: TLS = .off,
        subprotocol: String = "liaison.v1",
        sourceAddress: String? = nil,
        hostHeader: String? = nil,
        eventBufferLimit: Int? = nil,
        maxMessageBytes: Int = 16 << 20,
        messageInterceptor: (@Sendable (UnsafeRawBufferPointer) -> Bool)? = nil
    ) {
        self.host = host
        self.port = port
        self.path = path
        self.tls = tls
        self.subprotocol = subprotocol
        self.sourceAddress = sourceAddress
        self.hostHeader = hostHeader
        self.eventBufferLimit = eventBufferLimit
        self.maxMessageBytes = maxMessageBytes
        self.messageInterceptor = messageInterceptor
    }
}

/// Settings of a ``ClientEngine`` (one libwebsockets client context).
public struct EngineOptions: Sendable {
    /// PEM file of certificate authorities trusted for ``ConnectOptions/TLS/verified``
    /// connections, in addition to (OpenSSL: instead of) the system store.
    public var caFile: String?
    /// Forward libwebsockets' warnings and errors to stderr.
    public var libwebsocketsLogging: Bool
    /// Size of libwebsockets' receive buffer per connection; larger messages arrive
    /// in pieces and are reassembled.
    public var receiveBufferSize: Int
    /// Seconds libwebsockets allows for connecting and for the upgrade handshake.
    public var connectTimeout: Int

    public init(caFile: String? = nil, libwebsocketsLogging: Bool = true, receiveBufferSize: Int = 4096, connectTimeout: Int = 20) {
        self.caFile = caFile
        self.libwebsocketsLogging = libwebsocketsLogging
        self.receiveBufferSize = receiveBufferSize
        self.connectTimeout = connectTimeout
    }
}
