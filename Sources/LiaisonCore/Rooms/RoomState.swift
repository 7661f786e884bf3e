/// A room's state: members, the ordered message log, per-member cursors and the resend index.
/// A state machine without I/O; `RoomActor` owns one and performs what it decides.
///
/// Messages `1...archivedSeq` are on disk; `window` holds a contiguous run of the latest ones in memory
/// (`windowFloor + 1 ... lastSeq`), never dropping one that is not yet archived.
public struct RoomState: Sendable {
    public let id: String
    public let tenant: String
    public let kind: RoomKind
    public let title: String?
    public let createdAt: Millis
    public private(set) var members: [String]
    public private(set) var lastSeq: UInt64 = 0
    /// Per member: everything up to this seq has reached them (cumulative `msg.ack`).
    public private(set) var acked: [String: UInt64] = [:]
    /// Per member: everything up to this seq is read (`msg.read`).
    public private(set) var read: [String: UInt64] = [:]
    /// The highest seq written to the room's archive.
    public private(set) var archivedSeq: UInt64 = 0
    /// Under legal hold (`room.hold`): retention erases nothing.
    public private(set) var held = false
    /// Messages up to here are erased (tombstones in their place).
    public private(set) var erasedSeq: UInt64 = 0
    /// Messages `windowFloor + 1 ... lastSeq`, oldest first.
    private(set) var window: [StoredMessage] = []
    private(set) var windowFloor: UInt64 = 0
    /// `ResendKey.hash(sender, client_msg_id)` → seq, for every message of the room this state has seen
    /// or loaded from the archive's resend index. A hit is a candidate: the caller checks the message.
    private var resends: [UInt64: UInt64] = [:]

    public init(id: String, tenant: String, kind: RoomKind, title: String?, members: [String], createdAt: Millis) {
        self.id = id
        self.tenant = tenant
        self.kind = kind
        self.title = title
        self.members = []
        self.createdAt = createdAt
        for member in members where !self.members.contains(member) { self.members.append(member) }
    }

    public func isMember(_ user: String) -> Bool { members.contains(user) }

    // MARK: Membership

    /// Adds `user`; false if already a member.
    public mutating func join(_ user: String) -> Bool {
        guard !isMember(user) else { return false }
        members.append(user)
        return true
    }

    /// Removes `user`; false if not a member.
    public mutating func leave(_ user: String) -> Bool {
        guard let index = members.firstIndex(of: user) else { return false }
        members.remove(at: index)
        return true
    }

    // MARK: Messages

    /// The seq of an earlier message that may have the same sender and `client_msg_id` (to be confirmed
    /// against the message itself).
    public func resendCandidate(from: String, clientMsgID: String) -> UInt64? {
        resends[ResendKey.hash(from: from, clientMsgID: clientMsgID)]
    }

    /// Adds entries of the archive's resend index.
    public mutating func indexResends(_ entries: [(hash: UInt64, seq: UInt64)]) {
        for entry in entries where entry.seq <= lastSeq { resends[entry.hash] = entry.seq }
    }

    /// The seq the next message gets.
    public var nextSeq: UInt64 { lastSeq + 1 }

    /// Appends `message`, which must carry `nextSeq`. Replaying an already-applied seq does nothing.
    public mutating func append(_ message: StoredMessage) {
        guard message.seq == nextSeq else { return }
        if window.isEmpty { windowFloor = lastSeq }
        window.append(message)
        lastSeq = message.seq
        if let id = message.clientMsgID { resends[ResendKey.hash(from: message.from, clientMsgID: id)] = message.seq }
        read[message.from] = max(read[message.from] ?? 0, message.seq)
    }

    /// The message `seq` if it is in memory.
    public func message(_ seq: UInt64) -> StoredMessage? {
        guard seq > windowFloor, seq <= lastSeq, !window.isEmpty else { return nil }
        return window[Int(seq - windowFloor - 1)]
    }

    /// Messages `from...to` that are in memory, and the lowest seq of that range that is not.
    public func messages(_ range: ClosedRange<UInt64>) -> (inMemory: [StoredMessage], firstMissing: UInt64?) {
        let lower = max(range.lowerBound, 1)
        let upper = min(range.upperBound, lastSeq)
        guard lower <= upper else { return ([], nil) }
        let memoryLower = max(lower, windowFloor + 1)
        let found = memoryLower <= upper ? (memoryLower...upper).compactMap(message) : []
        return (found, lower < memoryLower ? lower : nil)
    }

    /// Messages not yet archived, oldest first.
    public var unarchived: [StoredMessage] {
        messages((archivedSeq + 1)...max(archivedSeq + 1, lastSeq)).inMemory
    }

    /// Records that the archive holds everything up to `seq`.
    public mutating func archived(through seq: UInt64) {
        archivedSeq = max(archivedSeq, min(seq, lastSeq))
    }

    /// Drops the oldest archived messages beyond `count` from memory (their resend entries stay).
    public mutating func trim(keeping count: Int) {
        let excess = window.count - count
        guard excess > 0 else { return }
        let droppable = min(excess, Int(archivedSeq > windowFloor ? archivedSeq - windowFloor : 0))
        guard droppable > 0 else { return }
        window.removeFirst(droppable)
        windowFloor += UInt64(droppable)
    }

    /// Puts older messages, read back from the archive, in front of the window (they must end at
    /// `windowFloor`).
    public mutating func prepend(_ older: [StoredMessage]) {
        guard let last = older.last, last.seq == windowFloor, let first = older.first else { return }
        window.insert(contentsOf: older, at: 0)
        windowFloor = first.seq - 1
        for message in older {
            if let id = message.clientMsgID { resends[ResendKey.hash(from: message.from, clientMsgID: id)] = message.seq }
        }
    }

    /// Restores counters from a snapshot (messages stay on disk until needed).
    mutating func restore(lastSeq: UInt64, acked: [String: UInt64], read: [String: UInt64], held: Bool = false,
                          erasedSeq: UInt64 = 0) {
        self.lastSeq = lastSeq
        archivedSeq = lastSeq
        windowFloor = lastSeq
        self.acked = acked
        self.read = read
        self.held = held
        self.erasedSeq = erasedSeq
    }

    // MARK: Retention

    /// Puts the room under legal hold or releases it. Returns whether that changed anything.
    public mutating func hold(_ on: Bool) -> Bool {
        guard held != on else { return false }
        held = on
        return true
    }

    /// Messages up to `seq` are erased: `tombstones` (of archived messages) replace those in memory.
    public mutating func erased(through seq: UInt64, tombstones: [StoredMessage]) {
        erasedSeq = max(erasedSeq, min(seq, archivedSeq))
        for tombstone in tombstones where tombstone.seq > windowFloor && tombstone.seq <= lastSeq && !window.isEmpty {
            window[Int(tombstone.seq - windowFloor - 1)] = tombstone
        }
    }

    // MARK: Cursors

    /// Moves `user`'s ack cursor up to `seq` (never down). Returns whether it moved.
    @discardableResult
    public mutating func ack(_ user: String, through seq: UInt64) -> Bool {
        let target = min(seq, lastSeq)
        guard target > (acked[user] ?? 0) else { return false }
        acked[user] = target
        return true
    }

    /// Moves `user`'s read cursor up to `seq` (never down). Returns whether it moved.
    @discardableResult
    public mutating func markRead(_ user: String, through seq: UInt64) -> Bool {
        let target = min(seq, lastSeq)
        guard target > (read[user] ?? 0) else { return false }
        read[user] = target
        return true
    }

    public func unread(_ user: String) -> UInt64 { lastSeq - min(lastSeq, read[user] ?? 0) }

    public func summary(for user: String) -> RoomSummary {
        RoomSummary(room: id, kind: kind, title: title, members: members, lastSeq: lastSeq, unread: unread(user))
    }
}

/// The stable 64-bit key of `(sender, client_msg_id)` (FNV-1a): the same in every process, so it can be
/// stored in the archive's resend index.
public enum ResendKey {
    public static func hash(from: String, clientMsgID: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in from.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0) &* 0x100_0000_01b3
        for byte in clientMsgID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
