import Foundation

/// A message as a room holds it: the facts it is looked up by, and its encoded `msg` event.
public struct StoredMessage: Sendable {
    public let seq: UInt64
    public let from: String
    public let clientMsgID: String?
    public let ts: Millis
    /// The `msg` event, encoded once.
    public let frame: OutboundFrame

    /// Rebuilds a message from its stored `msg` event bytes.
    init?(eventBytes: Data) {
        guard let event = FlatJSON.object(eventBytes).flatMap(Facts.init(fields:))
            ?? (try? JSONDecoder().decode(Facts.self, from: eventBytes))
        else { return nil }
        self.init(seq: event.seq, from: event.from, clientMsgID: event.clientMsgID, ts: event.ts,
                  frame: OutboundFrame(payload: eventBytes))
        room = event.room
    }

    /// What a room looks a message up by, decoded from its event (a replay decodes every message it holds):
    /// with `FlatJSON`, or `JSONDecoder` (which skips the body and the rest) for what that does not read.
    private struct Facts: Decodable {
        let room: String
        let seq: UInt64
        let from: String
        let ts: Millis
        let clientMsgID: String?

        enum CodingKeys: String, CodingKey {
            case room, seq, from, ts
            case clientMsgID = "client_msg_id"
        }

        init?(fields: [String: FlatJSON.Value]) {
            guard case .string(let room)? = fields["room"], case .integer(let seq)? = fields["seq"], seq >= 0,
                  case .string(let from)? = fields["from"], case .integer(let ts)? = fields["ts"],
                  let clientMsgID = fields.optionalString("client_msg_id")
            else { return nil }
            (self.room, self.seq, self.from, self.ts, self.clientMsgID) = (room, UInt64(seq), from, ts, clientMsgID)
        }
    }

    init(seq: UInt64, from: String, clientMsgID: String?, ts: Millis, frame: OutboundFrame) {
        self.seq = seq
        self.from = from
        self.clientMsgID = clientMsgID
        self.ts = ts
        self.frame = frame
        room = nil
    }

    /// The room, when decoded from bytes (journal replay needs it to route the message).
    private(set) var room: String?
}
