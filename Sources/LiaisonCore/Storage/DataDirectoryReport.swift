import Foundation

/// What an operator sees of a data directory: rooms, message counts, journal size, last snapshot.
public struct DataDirectoryReport: Sendable {
    public struct Room: Sendable {
        public let id: String
        public let tenant: String
        public let kind: String
        public let members: Int
        public let messages: UInt64
        public let snapshotAt: Millis
    }

    public let rooms: [Room]
    public let journalBytes: UInt64
    public let journalSegments: Int
    public let lastSnapshot: Millis?
    public let users: Int

    /// Reads `directory` without changing it (the server should not be running on it).
    public init(directory: URL) throws {
        let metas = try RoomArchive.loadAll(directory.appendingPathComponent("rooms"))
        rooms = metas.map {
            Room(id: $0.id, tenant: $0.tenant, kind: $0.kind.rawValue, members: $0.members.count,
                 messages: $0.lastSeq, snapshotAt: $0.snapshotAt)
        }.sorted { $0.id < $1.id }
        let segments = Journal.segments(in: directory.appendingPathComponent("journal"))
        journalSegments = segments.count
        journalBytes = segments.reduce(0) { total, segment in
            total + ((try? FileManager.default.attributesOfItem(atPath: segment.url.path)[.size] as? UInt64) ?? 0)
        }
        lastSnapshot = metas.map(\.snapshotAt).max()
        let usersFile = directory.appendingPathComponent("users.jsonl")
        users = (FileManager.default.contents(atPath: usersFile.path) ?? Data())
            .split(separator: UInt8(ascii: "\n")).count
    }
}
