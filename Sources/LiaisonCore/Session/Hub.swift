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
    public let push: PushService
    public let meetings: MeetingService
    public let files: FileLibrary
    let journal: any JournalWriter
    /// The data directory and the file system it is on.
    let dataPath: String
    let fileSystem: any FileSystem
    /// Where snapshot files are written and synced, off the actors.
    let storage: IOQueue
    private let snapshots = SnapshotScheduler()
    let logger = Logger(label: "liaison.hub")
    public var policy: Policy { configuration.policy }

    /// Opens the persisted state under `dataDirectory` (users, rooms, MOD requests, meetings, pushers, the audit
    /// trail) on `fileSystem`. `pushClient` posts to the push gateways; without one nothing is pushed. With an
    /// `externalJournal` (cluster mode) changes are made durable there, and its records replace the local journal's.
    public init(
        configuration: HubConfiguration, dataDirectory: URL, verifier: TokenVerifier, transport: any Transport,
        pushClient: (any PushGatewayClient)? = nil, fileSystem: any FileSystem = LocalFileSystem(),
        externalJournal: ExternalJournal? = nil, fileReplica: (any FileReplica)? = nil, auditMirror: (any AuditMirror)? = nil
    ) throws {
        let dataPath = dataDirectory.path
        try fileSystem.makeDirectory(dataPath)
        self.dataPath = dataPath
        self.fileSystem = fileSystem
        self.configuration = configuration
        self.transport = transport
        self.verifier = verifier
        storage = IOQueue(label: "liaison.storage")
        let records: [Data]
        if let externalJournal {
            (journal, records) = (externalJournal.writer, externalJournal.records)
        } else {
            let journalDirectory = Path.join(dataPath, "journal")
            let (recovered, lastSegment) = try Journal.recover(
                journalDirectory, fileSystem: fileSystem, logger: Logger(label: "liaison.journal"))
            records = recovered
            journal = try Journal(
                directory: journalDirectory, mode: configuration.fsync, lastSegment: lastSegment, fileSystem: fileSystem)
        }
        // Its own queue: a hello that learns a user must not wait behind a long snapshot.
        directory = try UserDirectory(directory: dataPath, fileSystem: fileSystem, io: IOQueue(label: "liaison.users"),
                                      journal: journal, records: records)
        audit = try AuditLog(path: Path.join(dataPath, "audit.log"), fileSystem: fileSystem, mirror: auditMirror)
        registry = SessionRegistry()
        presence = PresenceService(
            grace: configuration.presenceGrace, registry: registry, transport: transport, audit: audit, directory: directory)
        push = try PushService(configuration: configuration.push, client: pushClient, dataDirectory: dataPath,
                               registry: registry, audit: audit, fileSystem: fileSystem, journal: journal, records: records)
        rooms = try RoomService(
            dataDirectory: dataPath, journal: journal, records: records, memoryMessages: configuration.roomMemoryMessages,
            retention: configuration.retention, transport: transport, registry: registry, audit: audit, directory: directory, push: push, fileSystem: fileSystem)
        mod = try ModService(
            dataDirectory: dataPath, journal: journal, records: records, configuration: configuration,
            directory: directory, registry: registry, presence: presence, rooms: rooms, push: push, transport: transport,
            audit: audit, fileSystem: fileSystem)
        meetings = try MeetingService(
            dataDirectory: dataPath, journal: journal, records: records, configuration: configuration,
            directory: directory, registry: registry, rooms: rooms, push: push, transport: transport, audit: audit,
            fileSystem: fileSystem)
        let dataKeys = try configuration.files.dataKeys
            ?? DataKeys(current: DataKeys.load(path: Path.join(dataPath, "data.key"), create: true, fileSystem: fileSystem))
        files = try FileLibrary(dataDirectory: dataPath, configuration: configuration.files, dataKeys: dataKeys,
                                rooms: rooms, audit: audit, fileSystem: fileSystem, journal: journal, records: records,
                                replica: fileReplica)
        calls = CallService(configuration: configuration, registry: registry, rooms: rooms, push: push,
                            meetings: meetings, transport: transport, audit: audit)
    }

    /// Runs the periodic work (snapshots, MOD timers) until cancelled; a snapshot under way when it is
    /// cancelled still runs to its end before this returns.
    public func runMaintenance() async {
        await mod.resumeAfterStart()
        await meetings.resumeAfterStart()
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: .milliseconds(Int64(configuration.snapshotInterval * 1000)))) != nil
            else { return }
            await snapshot()
        }
    }

    /// Writes snapshots of whatever changed and erases what retention says is due, then drops the journal
    /// segments the snapshots cover. The journal is rotated first, so a change made during the snapshot
    /// stays in a segment that is kept. One snapshot runs at a time.
    public func snapshot() async {
        await snapshots.run { [self] in await writeSnapshot() }
    }

    /// With retention on it runs every time (messages age without any change), rotating the journal only
    /// when something changed or messages are due to be erased (the journal may hold them: in a cluster, only
    /// a snapshot that covers the erasure lets it drop them).
    private func writeSnapshot() async {
        let modChanged = await mod.hasChanges
        let meetingsChanged = await meetings.hasChanges
        var changed = rooms.hasChanges || modChanged || meetingsChanged
        guard changed || configuration.retention != nil else { return }
        if !changed, let retention = configuration.retention {
            changed = await rooms.retentionDue(before: retention.cutoff(now: WallClock.now()))
        }
        let segment = changed ? await journal.rotate() : nil
        let roomsWritten = await rooms.writeSnapshots(io: storage)
        let modWritten = await mod.writeSnapshot(io: storage)
        let meetingsWritten = await meetings.writeSnapshot(io: storage)
        if let retention = configuration.retention { await files.eraseExpired(before: retention.cutoff(now: WallClock.now())) }
        guard let segment, roomsWritten && modWritten && meetingsWritten else { return }
        do {
            try await storage.run { [journal] in try journal.removeSegments(before: segment) }
        } catch {
            logger.error("removing journal segments covered by the snapshot failed: \(error)")
        }
    }

    /// What the snapshots write under the data directory: the rooms' snapshots and archives, the MOD and meeting
    /// snapshots (paths relative to it; a directory stands for everything under it).
    public static let snapshotFiles = ["rooms", "mod.json", "meetings.json"]

    /// Whether `path`, relative to the data directory, is one of the snapshot files or under one.
    public static func isSnapshotFile(_ path: String) -> Bool {
        snapshotFiles.contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    /// Removes from `dataDirectory` what a hub rebuilds from its journal: the snapshot files and the local
    /// journal. In cluster mode a node that becomes active starts from the shared checkpoint and journal
    /// alone, never from what it cached when it was active before. Users, pushers, files, keys and the audit
    /// trail stay.
    public static func discardJournaledState(in dataDirectory: URL) throws {
        for name in snapshotFiles + ["journal"] {
            let url = dataDirectory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        }
    }

    /// A new session for a connection the transport accepts; `Session.start(peer:)` attaches it.
    public func makeSession() -> Session {
        Session(hub: self)
    }

    /// Makes everything durable (at shutdown): a last snapshot, the journal closed, the audit synced.
    public func close() async {
        await snapshot()
        journal.close()
        audit.flush()
    }
}
