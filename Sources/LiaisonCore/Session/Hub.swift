import Foundation

/// The domain's services, wired together: what every session reaches.
///
/// The one seam between the domain and the outside: a transport delivers frames to peers. A future
/// cluster implementation routes by user and room id behind the same services.
public final class Hub: Sendable {
    public let configuration: HubConfiguration
    public let transport: any Transport
    public let verifier: TokenVerifier
    public let directory: UserDirectory
    public let registry: SessionRegistry
    public let presence: PresenceService
    public let audit: AuditLog
    public let rooms: RoomService
    public var policy: Policy { configuration.policy }

    /// Opens the persisted state under `dataDirectory` (users and the audit trail).
    public init(
        configuration: HubConfiguration, dataDirectory: URL, verifier: TokenVerifier, transport: any Transport
    ) throws {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        self.configuration = configuration
        self.transport = transport
        self.verifier = verifier
        directory = try UserDirectory(directory: dataDirectory)
        audit = try AuditLog(url: dataDirectory.appendingPathComponent("audit.log"))
        registry = SessionRegistry()
        presence = PresenceService(
            grace: configuration.presenceGrace, registry: registry, transport: transport, audit: audit)
        rooms = try RoomService(
            dataDirectory: dataDirectory, fsync: configuration.fsync, retention: configuration.roomMemoryMessages,
            transport: transport, registry: registry, audit: audit)
    }

    /// Runs the periodic work (snapshots) until cancelled.
    public func runMaintenance() async {
        await rooms.runSnapshots(every: configuration.snapshotInterval)
    }

    /// A new session for a connection the transport accepted.
    public func openSession(peer: any Peer) -> Session {
        let session = Session(hub: self, peer: peer)
        session.start()
        return session
    }

    /// Makes everything durable (at shutdown): a last snapshot, the journal closed, the audit synced.
    public func close() async {
        await rooms.close()
        audit.flush()
    }
}
