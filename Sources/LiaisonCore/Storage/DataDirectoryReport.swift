import Foundation
import Logging

/// What an operator sees of a data directory: rooms, message counts, journal size, last snapshot.
public struct DataDirectoryReport: Sendable {
    public struct Room: Sendable {
        public let id: String
        public let tenant: String
        public let kind: String
        public let members: Int
        public let messages: UInt64
        /// When the room's last snapshot was written; nil if it exists only in the journal so far.
        public let snapshotAt: Millis?
    }

    public let rooms: [Room]
    /// Room records in the journal not yet in a snapshot (applied to `rooms` above).
    public let journalRecords: Int
    public let journalBytes: UInt64
    public let journalSegments: Int
    public let lastSnapshot: Millis?
    public let users: Int

    /// Reads `directory` without changing it (the server should not be running on it), through the same
    /// recovery the server starts with: the snapshots, with the journal's records applied on top.
    public init(directory: URL, fileSystem: any FileSystem = LocalFileSystem()) throws {
        let journalDirectory = Path.join(directory.path, "journal")
        let (records, _) = try Journal.recover(
            journalDirectory, fileSystem: fileSystem, repair: false, logger: Logger(label: "liaison.inspect"))
        let recovery = try RoomRecovery(
            roomsDirectory: Path.join(directory.path, "rooms"), records: records, fileSystem: fileSystem)
        rooms = recovery.states.values.map { state in
            Room(id: state.id, tenant: state.tenant, kind: state.kind.rawValue, members: state.members.count,
                 messages: state.lastSeq, snapshotAt: recovery.snapshots[state.id]?.snapshotAt)
        }.sorted { $0.id < $1.id }
        journalRecords = recovery.appliedRecords
        let segments = try Journal.segments(in: journalDirectory, fileSystem: fileSystem)
        journalSegments = segments.count
        journalBytes = try segments.reduce(0) { total, segment in total + (try fileSystem.size(of: segment.path) ?? 0) }
        lastSnapshot = recovery.snapshots.values.map(\.snapshotAt).max()
        users = (try fileSystem.contents(of: Path.join(directory.path, "users.jsonl")) ?? [])
            .split(separator: UInt8(ascii: "\n")).count
    }
}
