import Foundation

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
    /// Journal records not yet in a snapshot (counted into `rooms` above).
    public let journalRecords: Int
    public let journalBytes: UInt64
    public let journalSegments: Int
    public let lastSnapshot: Millis?
    public let users: Int

    /// Reads `directory` without changing it (the server should not be running on it): the snapshots,
    /// with the journal's records applied on top as a restart would.
    public init(directory: URL) throws {
        let metas = try RoomArchive.loadAll(directory.appendingPathComponent("rooms"))
        var found: [String: Room] = [:]
        for meta in metas {
            found[meta.id] = Room(id: meta.id, tenant: meta.tenant, kind: meta.kind.rawValue, members: meta.members.count,
                                  messages: meta.lastSeq, snapshotAt: meta.snapshotAt)
        }
        var records = 0
        for segment in Journal.segments(in: directory.appendingPathComponent("journal")) {
            let data = (try? Data(contentsOf: segment.url)) ?? Data()
            for record in RecordFraming.records(in: data).records.compactMap({ RoomRecord.decode($0.payload) }) {
                records += 1
                switch record {
                case .created(let created) where found[created.room] == nil:
                    found[created.room] = Room(id: created.room, tenant: created.tenant, kind: created.kind.rawValue,
                                               members: created.members.count, messages: 0, snapshotAt: nil)
                case .message(let message, let room):
                    if let existing = found[room], message.seq > existing.messages {
                        found[room] = Room(id: room, tenant: existing.tenant, kind: existing.kind, members: existing.members,
                                           messages: message.seq, snapshotAt: existing.snapshotAt)
                    }
                default:
                    break
                }
            }
        }
        rooms = found.values.sorted { $0.id < $1.id }
        journalRecords = records
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
