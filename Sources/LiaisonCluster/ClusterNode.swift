import LiaisonCore

/// This process as a node of a cluster on NATS JetStream: its connection to the bus, the lease on being
/// the active node, and the journal stream every active node writes in turn.
public final class ClusterNode: Sendable {
    /// What `--cluster`, `--node`, `--cluster-lease` and `--cluster-replicas` say.
    public struct Configuration: Sendable {
        public var url: String
        public var node: String
        public var lease: Duration = .seconds(5)
        /// Copies JetStream keeps of the journal and the lease: 1 on a single NATS server, 3 on a cluster of three.
        public var replicas = 1
        /// Snapshotted journal records after which the next snapshot is checkpointed and the journal compacted.
        public var checkpointRecords = 50_000

        public init(url: String, node: String) {
            self.url = url
            self.node = node
        }
    }

    /// The stream of the journal, its subjects, and the bucket of the lease.
    public static let journalStream = "LIAISON_JOURNAL"
    public static let journalSubjects = JetStreamJournal.Subjects(snapshotted: "liaison.journal.snapshotted",
                                                                  kept: "liaison.journal.kept")
    public static let leaseBucket = "liaison_lease"
    /// The stream of checkpoints' blobs, one subject per blob under `liaison.state`.
    public static let stateStream = "LIAISON_STATE"
    /// The stream of the audit trail, its one subject.
    public static let auditStream = "LIAISON_AUDIT"
    public static let auditSubject = "liaison.audit"
    /// The stream of files' bytes, one subject per file under `liaison.files`.
    public static let filesStream = "LIAISON_FILES"

    public let configuration: Configuration
    public let lease: NodeLease
    /// The connection to the bus (the relay's messages go over it too).
    public let bus: NATSConnection
    private let log: JetStreamLog

    /// Connects to the bus and opens (creating if needed) the lease bucket and the journal stream.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        bus = try NATSConnection(url: configuration.url, name: "liaison-\(configuration.node)")
        let bucket = try KeyValueBucket(bus, bucket: Self.leaseBucket, replicas: configuration.replicas)
        lease = NodeLease(bucket: bucket, node: configuration.node, rules: LeaseRules(duration: configuration.lease))
        log = try JetStreamLog(bus, stream: Self.journalStream, subject: "liaison.journal.>",
                               replicas: configuration.replicas)
    }

    /// Whether the bus is reachable now.
    public var busConnected: Bool { bus.isConnected }

    /// Starts the audit trail at `path` from the one in JetStream and returns the mirror that continues it
    /// (call once this node holds the lease, before its hub opens the trail).
    public func startAudit(trail path: String, fenced: @escaping @Sendable (String) -> Void) throws -> JetStreamAuditMirror {
        let log = try JetStreamLog(bus, stream: Self.auditStream, subject: Self.auditSubject, replicas: configuration.replicas)
        return try JetStreamAuditMirror.start(log, trail: path, fenced: fenced)
    }

    /// Where files' bytes are kept in JetStream, for the hub of this node once it is active.
    public func fileReplica() throws -> JetStreamFileReplica {
        JetStreamFileReplica(blobs: try JetStreamBlobs(bus, stream: Self.filesStream, prefix: "liaison.files",
                                                       replicas: configuration.replicas))
    }

    /// Closes the connection to the bus (at the end: libnats keeps the process alive while one is open).
    public func close() {
        lease.stop()
        bus.close()
    }

    /// Restores the last checkpoint into the data directory of `files` (its snapshot files discarded first),
    /// reads the journal after it and starts writing (call once this node holds the lease).
    public func openJournal(files: ChangeTrackingFileSystem, fenced: @escaping @Sendable (String) -> Void) throws
        -> ExternalJournal
    {
        let blobs = try JetStreamBlobs(bus, stream: Self.stateStream, prefix: "liaison.state", replicas: configuration.replicas)
        return try JetStreamJournal.open(
            log, subjects: Self.journalSubjects, node: configuration.node, checkpointRecords: configuration.checkpointRecords,
            checkpoints: { term in JetStreamCheckpoints(blobs: blobs, files: files, term: term) },
            fenced: fenced)
    }
}
