import Foundation

/// Reads the stored `msg` events the export asks for, by room and seq. The export asks for each room's
/// messages in seq order, so each room's archive is read forward a page at a time; the pages of the
/// rooms used last are kept within a byte budget. Messages not yet in a snapshot are read from the
/// journal (seconds of traffic on a running server; what a crash left, after one).
///
/// It may run beside a server writing the same directory: it reads archives only up to the last
/// snapshot's seq, and when a message is in neither place it looks again once, since a snapshot may have
/// moved it from the journal to the archive meanwhile.
final class MessageLookup {
    private let roomsDirectory: String
    private let journalDirectory: String
    private let fileSystem: any FileSystem
    private let pageSize: UInt64
    private let budgetBytes: Int
    private let decoder = JSONDecoder()

    /// A room's archive as far as the export has read it.
    private struct Cursor {
        /// The last seq in the archive, per the room's snapshot when last read.
        var archivedThrough: UInt64
        /// Stored events of seqs `first ..< first + events.count`.
        var first: UInt64 = 1
        var events: [Data] = []
        var bytes = 0
        var lastUsed: UInt64 = 0
    }

    private var cursors: [String: Cursor] = [:]
    private var cachedBytes = 0
    private var clock: UInt64 = 0
    /// The journal's messages by room and seq, read when first needed.
    private var journal: [String: [UInt64: Data]]?
    private var journalReads = 0
    private static let maxJournalReads = 3

    init(dataDirectory: String, fileSystem: any FileSystem, pageSize: UInt64 = 32, budgetBytes: Int = 16 << 20) {
        roomsDirectory = Path.join(dataDirectory, "rooms")
        journalDirectory = Path.join(dataDirectory, "journal")
        self.fileSystem = fileSystem
        self.pageSize = pageSize
        self.budgetBytes = budgetBytes
    }

    /// Message `seq` of `room`, or nil when neither the room's archive nor the journal has it.
    func event(room: String, seq: UInt64) throws -> MessageEvent? {
        // Where it should be, then again after a snapshot or journal segment that may have moved it.
        guard let bytes = try archived(room: room, seq: seq, rereadSnapshot: false)
            ?? journaled(room: room, seq: seq, reread: false)
            ?? archived(room: room, seq: seq, rereadSnapshot: true)
            ?? journaled(room: room, seq: seq, reread: true)
        else { return nil }
        return FlatJSON.object(bytes).flatMap(MessageEvent.init(fields:))
            ?? (try? decoder.decode(MessageEvent.self, from: bytes))
    }

    // MARK: Archives

    private func archived(room: String, seq: UInt64, rereadSnapshot: Bool) throws -> Data? {
        clock += 1
        var cursor = try cursors[room] ?? Cursor(archivedThrough: lastArchived(room))
        if rereadSnapshot { cursor.archivedThrough = try lastArchived(room) }
        cursor.lastUsed = clock
        defer { store(cursor, for: room) }
        guard seq >= 1, seq <= cursor.archivedThrough else { return nil }
        if seq < cursor.first || seq >= cursor.first + UInt64(cursor.events.count) {
            let archive = RoomArchive(roomsDirectory: roomsDirectory, room: room, fileSystem: fileSystem)
            cursor.events = try archive.readEvents(seq...min(cursor.archivedThrough, seq + pageSize - 1))
            cursor.first = seq
            cachedBytes -= cursor.bytes
            cursor.bytes = cursor.events.reduce(0) { $0 + $1.count }
            cachedBytes += cursor.bytes
        }
        let index = Int(seq - cursor.first)
        return index < cursor.events.count ? cursor.events[index] : nil
    }

    private func lastArchived(_ room: String) throws -> UInt64 {
        try RoomArchive(roomsDirectory: roomsDirectory, room: room, fileSystem: fileSystem).loadMeta()?.lastSeq ?? 0
    }

    /// Keeps `cursor`, then drops the pages of the least recently used rooms while over the budget.
    private func store(_ cursor: Cursor, for room: String) {
        cursors[room] = cursor
        guard cachedBytes > budgetBytes else { return }
        let byAge = cursors.filter { $0.key != room }.sorted { $0.value.lastUsed < $1.value.lastUsed }
        for (name, old) in byAge.prefix(max(1, byAge.count / 2)) {
            cachedBytes -= old.bytes
            cursors[name] = nil
        }
    }

    // MARK: Journal

    private func journaled(room: String, seq: UInt64, reread: Bool) throws -> Data? {
        if journal == nil || (reread && journalReads < Self.maxJournalReads) { try readJournal() }
        return journal?[room]?[seq]
    }

    private func readJournal() throws {
        journalReads += 1
        var messages: [String: [UInt64: Data]] = [:]
        for (_, path) in try Journal.segments(in: journalDirectory, fileSystem: fileSystem) {
            // A segment removed meanwhile was covered by a snapshot: its messages are archived.
            guard let bytes = try? fileSystem.contents(of: path) else { continue }
            for (_, payload) in RecordFraming.records(in: Data(bytes)).records {
                guard case .message(let message, let room)? = RoomRecord.decode(payload) else { continue }
                messages[room, default: [:]][message.seq] = payload
            }
        }
        journal = messages
    }
}

extension MessageEvent {
    /// The event `FlatJSON` read (what `Decodable` would decode); nil if a field is missing or of another type.
    fileprivate init?(fields: [String: FlatJSON.Value]) {
        guard case .string("msg")? = fields["type"], case .string(let room)? = fields["room"],
              case .integer(let seq)? = fields["seq"], seq >= 0, case .string(let from)? = fields["from"],
              case .integer(let ts)? = fields["ts"], case .string(let kindName)? = fields["kind"],
              let kind = MessageKind(rawValue: kindName)
        else { return nil }
        guard let fromName = fields.optionalString("from_name"), let body = fields.optionalString("body"),
              let clientMsgID = fields.optionalString("client_msg_id"),
              let bodySHA256 = fields.optionalString("body_sha256")
        else { return nil }
        var erasedAt: Millis?
        switch fields["erased_at"] {
        case nil: erasedAt = nil
        case .integer(let value)?: erasedAt = value
        default: return nil
        }
        self.init(room: room, seq: UInt64(seq), from: from, fromName: fromName, body: body, ts: ts,
                  clientMsgID: clientMsgID, kind: kind, bodySHA256: bodySHA256, erasedAt: erasedAt)
    }
}
