import Foundation
import Logging

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
    public let mod: ModService
    public let calls: CallService
    let journal: Journal
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
        let journalDirectory = dataDirectory.appendingPathComponent("journal", isDirectory: true)
        let (records, lastSegment) = try Journal.recover(journalDirectory, logger: Logger(label: "liaison.journal"))
        journal = try Journal(directory: journalDirectory, mode: configuration.fsync, lastSegment: lastSegment)
        rooms = try RoomService(
            dataDirectory: dataDirectory, journal: journal, records: records, retention: configuration.roomMemoryMessages,
            transport: transport, registry: registry, audit: audit)
        mod = try ModService(
            dataDirectory: dataDirectory, journal: journal, records: records, configuration: configuration,
            directory: directory, registry: registry, presence: presence, rooms: rooms, transport: transport, audit: audit)
        calls = CallService(configuration: configuration, registry: registry, rooms: rooms, transport: transport, audit: audit)
    }

    /// Runs the periodic work (snapshots, MOD expiry timers) until cancelled.
    public func runMaintenance() async {
        await mod.armExpiryTimers()
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: .milliseconds(Int64(configuration.snapshotInterval * 1000)))) != nil
            else { return }
            await snapshot()
        }
    }

    /// Writes snapshots of whatever changed, then drops the journal segments they cover. The journal is
    /// rotated first, so a change made during the snapshot stays in a segment that is kept.
    public func snapshot() async {
        let modChanged = await mod.hasChanges
        guard rooms.hasChanges || modChanged else { return }
        let segment = journal.rotate()
        let roomsWritten = await rooms.writeSnapshots()
        let modWritten = await mod.writeSnapshot()
        if roomsWritten && modWritten { journal.removeSegments(before: segment) }
    }

    /// A new session for a connection the transport accepted.
    public func openSession(peer: any Peer) -> Session {
        let session = Session(hub: self, peer: peer)
        session.start()
        return session
    }

    /// Makes everything durable (at shutdown): a last snapshot, the journal closed, the audit synced.
    public func close() async {
        await snapshot()
        journal.close()
        audit.flush()
    }
}
