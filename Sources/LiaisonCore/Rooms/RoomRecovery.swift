/// The rooms as a restart finds them: every snapshot, then the journal's room records applied over them
/// in order. The server starts from it, and `liaison inspect` reports it, so both see the same rooms.
import Foundation

struct RoomRecovery {
    /// Each room's recovered state.
    private(set) var states: [String: RoomState] = [:]
    /// Each snapshotted room's metadata as written.
    private(set) var snapshots: [String: RoomArchive.Meta] = [:]
    /// Rooms that journal records changed since their snapshot (they need a new one).
    private(set) var changed: Set<String> = []
    /// Room records applied from the journal.
    private(set) var appliedRecords = 0

    init(roomsDirectory: String, records: [Data], fileSystem: any FileSystem) throws {
        for meta in try RoomArchive.loadAll(roomsDirectory, fileSystem: fileSystem) {
            var state = RoomState(id: meta.id, tenant: meta.tenant, kind: meta.kind, title: meta.title,
                                  members: meta.members, createdAt: meta.createdAt)
            state.restore(lastSeq: meta.lastSeq, acked: meta.acked, read: meta.read, held: meta.held ?? false,
                          erasedSeq: meta.erasedThrough ?? 0)
            states[meta.id] = state
            snapshots[meta.id] = meta
        }
        for data in records {
            guard let record = RoomRecord.decode(data) else { continue }
            if case .created(let created) = record, states[created.room] == nil {
                states[created.room] = RoomState(id: created.room, tenant: created.tenant, kind: created.kind,
                                                 title: created.title, members: created.members, createdAt: created.ts)
                changed.insert(created.room)
            }
            guard states[record.room] != nil else { continue }
            // In place: a copy taken out of the dictionary would copy the room's messages on every record.
            RoomRecord.apply(record, to: &states[record.room]!)
            changed.insert(record.room)
            appliedRecords += 1
        }
    }
}
