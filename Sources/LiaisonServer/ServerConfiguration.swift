import Foundation
import LiaisonCore

/// Everything `liaison serve` can be told. Durations are in seconds.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// The wss listener; 0 turns it off.
    public var tlsPort = 8443
    public var tlsCertificate: String?
    public var tlsPrivateKey: String?
    public var dataDirectory = URL(fileURLWithPath: "data")
    public var jwtSecret: String
    /// PEM of an RSA or EC public key for RS256/ES256 tokens.
    public var jwtPublicKeyPEM: String?
    /// The identity provider's JWKS (`https://idp/…/certs`): its keys verify RS256/ES256 tokens.
    public var jwksURL: String?
    /// How often the JWKS is fetched again (also on a token naming an unknown key, at most every 10 s).
    public var jwksRefresh: Double = 600
    /// What identity-provider tokens must say (issuer, audience) and which claims hold the user.
    public var identityProvider = IdentityProviderRules()
    /// Largest inbound message; larger ones close the connection with 1009.
    public var maxFrameBytes = 65536
    /// Bytes queued for one connection before it is closed as a slow consumer (4008).
    public var outboxLimitBytes = 4 * 1024 * 1024
    /// Grace for clients to close after the server's 1001 at shutdown.
    public var shutdownGrace: Double = 2
    /// Development mode: `GET /dev/token` mints tokens with the server's secret (never in production).
    public var dev = false
    /// A WebSocket path that echoes every message back through the same connection code as `/ws`
    /// (reassembly, size limit, UTF-8 check, close handling): for RFC 6455 conformance runs. Off (nil)
    /// by default.
    public var echoPath: String?
    /// permessage-deflate (RFC 7692) for clients that offer it. Off by default: see docs/BENCHMARKS.md
    /// for its memory and CPU cost.
    public var compression = false
    /// How clients reach this server (scheme, host, port; no trailing slash): the start of the links
    /// it hands out, such as calendar feeds. nil: `http://` the ws listener's host and bound port.
    public var publicURL: String?
    public var hub = HubConfiguration()
    /// Cluster mode: the journal in JetStream the hub writes to and starts from (nil: the local journal).
    public var externalJournal: ExternalJournal?
    /// Cluster mode: where the audit trail is also kept, so that the next active node continues it.
    public var auditMirror: (any AuditMirror)?
    /// Cluster mode: where file bytes are also kept, so that any node that becomes active serves them.
    public var fileReplica: (any FileReplica)?
    /// The file system the hub keeps its data directory on (cluster mode: one that tracks what changed, for
    /// checkpoints).
    public var fileSystem: any FileSystem = LocalFileSystem()
    /// Cluster mode: where clients reach every node (`http(s)://host:port`), for `/v1/info`.
    public var clusterNodeURLs: (@Sendable () -> [String])?
    /// Cluster mode: this node's name and whether the bus is reachable, for `/healthz`.
    public var clusterHealth: (@Sendable () -> ClusterHealth)?

    public init(jwtSecret: String) {
        self.jwtSecret = jwtSecret
    }
}

/// What `/healthz` says of a cluster node: its name, its role (`active`, or `relay` while another node is
/// active), the active node, and whether it reaches the bus (if not, it is degraded).
public struct ClusterHealth: Sendable {
    public let node: String
    public let role: String
    public let active: String?
    public let busConnected: Bool

    public init(node: String, role: String, active: String?, busConnected: Bool) {
        self.node = node
        self.role = role
        self.active = active
        self.busConnected = busConnected
    }
}
