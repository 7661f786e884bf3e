/// `msg`: a message of a room. The same bytes go to every device, into the journal and the archive.
struct MessageEvent: Decodable, JSONWritable {
    var type = "msg"
    let room: String
    let seq: UInt64
    let from: String
    /// The sender's display name when sent (absent in messages stored before names were added).
    let fromName: String?
    let body: String
    let ts: Millis
    let clientMsgID: String?
    let kind: MessageKind
    /// Files the message carries (absent when none).
    var attachments: [Attachment]? = nil

    enum CodingKeys: String, CodingKey {
        case type, room, seq, from, body, ts, kind, attachments
        case fromName = "from_name"
        case clientMsgID = "client_msg_id"
    }

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("room", room)
        writer.field("seq", seq)
        writer.field("from", from)
        writer.field("from_name", ifPresent: fromName)
        writer.field("body", body)
        writer.field("ts", ts)
        writer.field("client_msg_id", ifPresent: clientMsgID)
        writer.field("kind", kind)
        if let attachments, !attachments.isEmpty { writer.field("attachments", objects: attachments) }
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
