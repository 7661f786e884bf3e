import Crypto
import Foundation

/// `msg`: a message of a room. The same bytes go to every device, into the journal and the archive.
/// A tombstone (`kind: erased`) has no `body`, and carries the body's `body_sha256` and `erased_at`.
struct MessageEvent: Decodable, JSONWritable {
    var type = "msg"
    let room: String
    let seq: UInt64
    let from: String
    /// The sender's display name when sent (absent in messages stored before names were added).
    let fromName: String?
    /// Absent in a tombstone.
    let body: String?
    let ts: Millis
    let clientMsgID: String?
    let kind: MessageKind
    /// Files the message carries (absent when none).
    var attachments: [Attachment]? = nil
    /// A tombstone's: the erased body's SHA-256 (hex) and when it was erased.
    var bodySHA256: String? = nil
    var erasedAt: Millis? = nil

    enum CodingKeys: String, CodingKey {
        case type, room, seq, from, body, ts, kind, attachments
        case fromName = "from_name"
        case clientMsgID = "client_msg_id"
        case bodySHA256 = "body_sha256"
        case erasedAt = "erased_at"
    }

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("room", room)
        writer.field("seq", seq)
        writer.field("from", from)
        writer.field("from_name", ifPresent: fromName)
        writer.field("body", ifPresent: body)
        writer.field("ts", ts)
        writer.field("client_msg_id", ifPresent: clientMsgID)
        writer.field("kind", kind)
        if let attachments, !attachments.isEmpty { writer.field("attachments", objects: attachments) }
        writer.field("body_sha256", ifPresent: bodySHA256)
        if let erasedAt { writer.field("erased_at", erasedAt) }
    }

    /// This message's tombstone: everything but the body, which only its SHA-256 stands for.
    func tombstone(erasedAt: Millis) -> MessageEvent {
        MessageEvent(room: room, seq: seq, from: from, fromName: fromName, body: nil, ts: ts, clientMsgID: clientMsgID,
                     kind: .erased, bodySHA256: bodySHA256 ?? Hex.encode(SHA256.hash(data: Data((body ?? "").utf8))),
                     erasedAt: self.erasedAt ?? erasedAt)
    }
}

/// `room.member`: someone joined or left a room.
struct MemberEvent: JSONWritable {
    var type = "room.member"
    let room: String
    let user: String
    let name: String
    let action: String

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("room", room)
        writer.field("user", user)
        writer.field("name", name)
        writer.field("action", action)
    }
}

/// `receipt`: a member has read up to `seq`.
struct ReceiptEvent: JSONWritable {
    var type = "receipt"
    let room: String
    let user: String
    let name: String
    let seq: UInt64

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("room", room)
        writer.field("user", user)
        writer.field("name", name)
        writer.field("seq", seq)
    }
}

/// `typing`: a member is typing (not stored).
struct TypingEvent: JSONWritable {
    var type = "typing"
    let room: String
    let user: String
    let name: String

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("room", room)
        writer.field("user", user)
        writer.field("name", name)
    }
}

/// One entry of `room.list`.
public struct RoomSummary: Encodable, Sendable {
    let room: String
    let kind: RoomKind
    let title: String?
    let members: [String]
    /// Each member's display name, by id.
    var memberNames: [String: String] = [:]
    let lastSeq: UInt64
    let unread: UInt64

    enum CodingKeys: String, CodingKey {
        case room, kind, title, members, unread
        case memberNames = "member_names"
        case lastSeq = "last_seq"
    }

    /// Every field, `title` as null when the room has none.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(room, forKey: .room)
        try container.encode(kind, forKey: .kind)
        try container.encode(title, forKey: .title)
        try container.encode(members, forKey: .members)
        try container.encode(memberNames, forKey: .memberNames)
        try container.encode(lastSeq, forKey: .lastSeq)
        try container.encode(unread, forKey: .unread)
    }
}
