import Foundation
import LiaisonCore
import LiaisonOutbound
import Logging
import Prometheus

/// A Liaison server: the domain hub behind a libwebsockets transport; or, on a cluster node that relays, the
/// transport alone, its sessions living on the cluster's active node.
public final class LiaisonServer: Sendable {
    public let configuration: ServerConfiguration
    /// The domain; nil on a cluster node that relays.
    public let hub: Hub?
    private let transport: WebSocketServer
    /// The identity provider's keys, when tokens may come from one (`--jwks-url`).
    public let jwks: IdentityProviderKeys?
    /// Posts to the push gateways (`--push-gateway`); nil without any.
    private let pushClient: MatrixPushGatewayClient?

    /// Opens the data directory and binds the listeners.
    /// - Parameters:
    ///   - metrics: the registry `/metrics` exports (the one swift-metrics was bootstrapped with).
    ///   - routing: in cluster mode, wraps the transport the hub reaches clients through, so that frames for
    ///     sessions relayed from other nodes go over the bus.
    public init(configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry,
                routing: (@Sendable (any Transport) -> any Transport)? = nil) async throws {
        self.configuration = configuration
        let queue = OutboundQueue(backlogLimit: configuration.outboxLimitBytes)
        if let url = configuration.jwksURL {
            let keys = IdentityProviderKeys(source: HTTPJWKSSource(url: url), refreshInterval: .seconds(configuration.jwksRefresh))
            await keys.refresh()
            jwks = keys
        } else {
            jwks = nil
        }
        let pushClient = configuration.hub.push.gateways.isEmpty ? nil : MatrixPushGatewayClient()
        self.pushClient = pushClient
        do {
            let verifier = try await TokenVerifier(
                secret: configuration.jwtSecret, publicKeyPEM: configuration.jwtPublicKeyPEM, jwks: jwks,
                rules: configuration.identityProvider)
            let hub = try Hub(
                configuration: configuration.hub, dataDirectory: configuration.dataDirectory,
                verifier: verifier, transport: routing?(queue) ?? queue, pushClient: pushClient,
                fileSystem: configuration.fileSystem, externalJournal: configuration.externalJournal, fileReplica: configuration.fileReplica,
                auditMirror: configuration.auditMirror)
            self.hub = hub
            let started = ContinuousClock.now
            let box = ConnectionCountBox()
            var http = HTTPEndpoints(metrics: metrics, started: started, connectionCount: { box.count() },
                                     cluster: configuration.clusterHealth,
                                     devSecret: configuration.dev ? configuration.jwtSecret : nil,
                                     calendar: { [meetings = hub.meetings] in meetings.calendar(token: $0) },
                                     files: FileEndpoints(files: hub.files, verifier: verifier))
            http.nodeURLs = configuration.clusterNodeURLs
            transport = WebSocketServer(configuration: configuration, queue: queue, sessions: hub, hub: hub, http: http)
            box.server = transport
            try transport.start()
            await hub.meetings.usePublicURL(configuration.publicURL ?? defaultPublicURL(port: transport.boundPort))
        } catch {
            // Its connection pool must be closed before it goes (the server never starts).
            await pushClient?.shutdown()
            throw error
        }
    }

    /// A cluster node that relays: binds the listeners and hands each connection to the session `relay` opens
    /// on the active node (`relay` is given the transport to this node's connections). Opens no data directory.
    /// `activeURL` gives the active node's base URL, where the HTTP API that needs the domain redirects.
    public init(relaying configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry,
                activeURL: @escaping @Sendable () -> String?, relay: (any Transport) -> any SessionOpener) throws {
        self.configuration = configuration
        let queue = OutboundQueue(backlogLimit: configuration.outboxLimitBytes)
        (hub, jwks, pushClient) = (nil, nil, nil)
        let box = ConnectionCountBox()
        var http = HTTPEndpoints(metrics: metrics, started: .now, connectionCount: { box.count() },
                                 cluster: configuration.clusterHealth, devSecret: nil, calendar: nil, files: nil)
        http.activeURL = activeURL
        http.nodeURLs = configuration.clusterNodeURLs
        transport = WebSocketServer(configuration: configuration, queue: queue, sessions: relay(queue), hub: nil, http: http)
        box.server = transport
        try transport.start()
    }

    /// How clients reach this server: `--public-url`, else `http://` the ws listener's host and port.
    public var publicURL: String { configuration.publicURL ?? defaultPublicURL(port: transport.boundPort) }

    /// `http://` the ws listener's host (localhost when it listens on every address) and port.
    private func defaultPublicURL(port: Int) -> String {
        let host = ["0.0.0.0", "::", ""].contains(configuration.host) ? "localhost" : configuration.host
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// The ws port (what the OS chose when configured with 0).
    public var port: Int { transport.boundPort }
    /// The wss port, 0 when off.
    public var tlsPort: Int { transport.boundTLSPort }

    /// Whether the wss listener is on.
    public var tlsEnabled: Bool { configuration.tlsPort > 0 && configuration.tlsCertificate != nil }

    /// Serves until `stop()`; then flushes durable state.
    public func run() async {
        guard let hub else {
            await transport.run()
            return
        }
        let maintenance = Task { await hub.runMaintenance() }
        let jwksRefresher = Task { [jwks] in await jwks?.keepFresh() }
        await transport.run()
        maintenance.cancel()
        jwksRefresher.cancel()
        // A snapshot under way finishes before the last one starts (Hub runs them one at a time).
        await maintenance.value
        // Let sessions closed by the shutdown record their end before the final flush.
        try? await Task.sleep(for: .milliseconds(100))
        await hub.close()
        await pushClient?.shutdown()
    }

    /// Begins a graceful shutdown: clients get 1001 (with `reason`), `run()` returns once they are gone.
    public func stop(reason: String = "server shutting down") {
        transport.stop(reason: reason)
    }
}

/// Lets `/healthz` read the live connection count of the transport created after it.
private final class ConnectionCountBox: @unchecked Sendable {
    weak var server: WebSocketServer?
    func count() -> Int { server?.liveConnections.load(ordering: .relaxed) ?? 0 }
}
