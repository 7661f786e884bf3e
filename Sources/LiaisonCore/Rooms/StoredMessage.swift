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
        guard let event = try? JSONDecoder().decode(MessageEvent.self, from: eventBytes) else { return nil }
        self.init(seq: event.seq, from: event.from, clientMsgID: event.clientMsgID, ts: event.ts,
                  frame: OutboundFrame(payload: eventBytes))
        room = event.room
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
