import Foundation

/// A room change as the journal holds it. Messages are stored as their `msg` event bytes.
enum RoomRecord: Sendable {
    case created(Created)
    case member(Member)
    case message(StoredMessage, room: String)
    case ack(Cursor)
    case read(Cursor)
    case hold(Hold)

    struct Created: Codable, Sendable {
        var type = "room.created"
        let room: String
        let tenant: String
        let kind: RoomKind
        let title: String?
        let members: [String]
        let ts: Millis
    }

    struct Member: Codable, Sendable {
        var type = "room.member"
        let room: String
        let user: String
        let action: String
    }

    /// `room.hold`: legal hold on or off.
    struct Hold: Codable, Sendable {
        var type = "room.hold"
        let room: String
        let on: Bool
    }

    struct Cursor: Codable, Sendable {
        let type: String
        let room: String
        let user: String
        let seq: UInt64
    }

    /// How a `msg` event's bytes begin (`FrameEncoder` writes the type first).
    private static let messagePrefix = Array(#"{"type":"msg","#.utf8)

    private struct Header: Decodable {
        let type: String
        let room: String
    }

    /// The record's room, for routing during replay.
    var room: String {
        switch self {
        case .created(let record): record.room
        case .member(let record): record.room
        case .message(_, let room): room
        case .ack(let record), .read(let record): record.room
        case .hold(let record): record.room
        }
    }

    /// Encoded for the journal (messages are appended as their frames instead).
    static func encode(_ value: some Encodable) -> [UInt8] {
        (try? Array(JSONEncoder().encode(value))) ?? []
    }

    /// Decodes a journal record; nil for records of other features.
    static func decode(_ data: Data) -> RoomRecord? {
        // Most records are messages, which the server writes type first: no header to decode for them.
        if data.starts(with: messagePrefix) {
            return StoredMessage(eventBytes: data).flatMap { message in message.room.map { .message(message, room: $0) } }
        }
        let decoder = JSONDecoder()
        guard let header = try? decoder.decode(Header.self, from: data) else { return nil }
        switch header.type {
        case "room.created": return (try? decoder.decode(Created.self, from: data)).map(RoomRecord.created)
        case "room.member": return (try? decoder.decode(Member.self, from: data)).map(RoomRecord.member)
        case "msg": return StoredMessage(eventBytes: data).map { .message($0, room: header.room) }
        case "msg.ack": return (try? decoder.decode(Cursor.self, from: data)).map(RoomRecord.ack)
        case "msg.read": return (try? decoder.decode(Cursor.self, from: data)).map(RoomRecord.read)
        case "room.hold": return (try? decoder.decode(Hold.self, from: data)).map(RoomRecord.hold)
        default: return nil
        }
    }

    /// Applies a replayed record to `state`. Every record is idempotent over a snapshot that already has it.
    static func apply(_ record: RoomRecord, to state: inout RoomState) {
        switch record {
        case .created: break
        case .member(let member):
            if member.action == "joined" { _ = state.join(member.user) } else { _ = state.leave(member.user) }
        case .message(let message, _):
            state.append(message)
        case .ack(let cursor):
            state.ack(cursor.user, through: cursor.seq)
        case .read(let cursor):
            state.markRead(cursor.user, through: cursor.seq)
        case .hold(let hold):
            _ = state.hold(hold.on)
        }
    }
}
