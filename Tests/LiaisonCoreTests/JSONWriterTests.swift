import Foundation
import Testing
@testable import LiaisonCore

/// The hand-written JSON of the hot frames and audit records: parsed back with real JSON parsers
/// (`JSONSerialization`, `JSONDecoder`), and audit records byte for byte as `JSONEncoder` wrote them.
@Suite struct JSONWriterTests {
    /// Strings that exercise escaping: quotes, backslashes, every control character, `/`, DEL, non-ASCII.
    static let awkwardStrings: [String] = [
        "", "plain", #"quote " inside"#, #"back\slash"#, "a/b/c", "tab\tnew\nline\rcr", "\u{7F}del",
        "Dr Hana Itō 伊藤 🩺", "\u{2028}\u{2029}", String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }),
        #"{"type":"ok"}"#, "emoji 👩‍⚕️ and \u{0}nul",
    ]

    func object(_ frame: OutboundFrame) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: frame.payload) as? [String: Any])
    }

    func object(_ value: some JSONWritable) throws -> [String: Any] {
        try object(FrameEncoder.event(value))
    }

    @Test func stringsWithAnythingInThemParseBackToThemselves() throws {
        for string in Self.awkwardStrings {
            let json = try object(TypingEvent(room: string, user: "u", name: "U"))
            #expect(json["room"] as? String == string)
        }
    }

    @Test func integersAreWrittenExactlyAcrossTheirRange() throws {
        for value: UInt64 in [0, 1, 9, 10, 99, 100, 12345, 1 << 53, UInt64.max] {
            let json = try object(ReceiptEvent(room: "r", user: "u", name: "U", seq: value))
            #expect((json["seq"] as? NSNumber)?.uint64Value == value)
        }
        for value: Int64 in [0, -1, -10, 1_764_500_000_000, Int64.min, Int64.max] {
            let frame = FrameEncoder.event(MessageEvent(
                room: "r", seq: 1, from: "u", fromName: nil, body: "b", ts: value, clientMsgID: nil, kind: .text))
            #expect(try JSONDecoder().decode(MessageEvent.self, from: frame.payload).ts == value)
        }
    }

    @Test func auditRecordsAreByteForByteWhatJSONEncoderWroteWithSortedKeys() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var seq: UInt64 = 0
        for string in Self.awkwardStrings {
            for optionals in [true, false] {
                seq += 1
                let record = AuditRecord(
                    seq: seq, ts: 1_764_500_000_000 + Millis(seq), action: "msg.send",
                    tenant: optionals ? string : nil, actor: optionals ? "u-\(string)" : nil,
                    device: optionals ? "d1" : nil, outcome: optionals ? "refused" : "ok",
                    code: optionals ? "forbidden" : nil,
                    detail: optionals ? ["room": string, "seq": "7", "zeta": "z", string: "key"] : nil,
                    prev: AuditRecord.genesis)
                var writer = JSONWriter()
                writer.object { record.writeFields(to: &$0) }
                #expect(writer.bytes == Array(try encoder.encode(record)), "record with \(string.debugDescription)")
            }
        }
    }

    @Test func aMessageEventDecodesBackToItsFields() throws {
        for string in Self.awkwardStrings {
            for id in [nil, "cm-\(string)"] {
                let event = MessageEvent(room: "r1", seq: 42, from: string, fromName: "N \(string)", body: string, ts: 17, clientMsgID: id,
                                         kind: .system)
                let decoded = try JSONDecoder().decode(MessageEvent.self, from: FrameEncoder.event(event).payload)
                #expect(decoded.type == "msg")
                #expect(decoded.room == "r1" && decoded.seq == 42 && decoded.ts == 17)
                #expect(decoded.from == string && decoded.body == string && decoded.fromName == "N \(string)")
                #expect(decoded.clientMsgID == id)
                #expect(decoded.kind == .system)
            }
        }
    }

    @Test func aMessageEventWithoutClientMessageIDHasNoSuchKey() throws {
        let json = try object(MessageEvent(room: "r", seq: 1, from: "u", fromName: nil, body: "b", ts: 1, clientMsgID: nil, kind: .text))
        #expect(json.keys.sorted() == ["body", "from", "kind", "room", "seq", "ts", "type"])  // no from_name when unknown
    }

    @Test func okWithAWrittenResultMergesItsFields() throws {
        let json = try object(FrameEncoder.ok(id: "c\"1", written: RoomActor.SendResult(room: "r", seq: 3, ts: 99)))
        #expect(json.count == 5)
        #expect(json["type"] as? String == "ok")
        #expect(json["id"] as? String == "c\"1")
        #expect(json["room"] as? String == "r")
        #expect(json["seq"] as? Int == 3)
        #expect(json["ts"] as? Int == 99)
    }

    @Test func presenceCarriesNullNoteAndLastSeen() throws {
        let online = try object(PresenceEvent(info: PresenceInfo(user: "u", status: .online, note: nil, devices: 2, lastSeen: nil), name: "Una"))
        #expect(online["type"] as? String == "presence")
        #expect(online["status"] as? String == "online")
        #expect(online["note"] is NSNull)
        #expect(online["last_seen"] is NSNull)
        #expect(online["devices"] as? Int == 2)
        let away = try object(PresenceEvent(info: PresenceInfo(user: "u", status: .away, note: "at lunch", devices: 0, lastSeen: 5), name: "Una"))
        #expect(away["note"] as? String == "at lunch")
        #expect(away["last_seen"] as? Int == 5)
        #expect(away.count == 7)
        #expect(away["name"] as? String == "Una")
    }

    @Test func modOfferCarriesTheRequestAndItsRequester() throws {
        let requester = UserRecord(tenant: "t", user: "h1", role: .hcp, name: #"Dr "H" Ito"#, areas: [])
        let request = ModRequest(id: "m1", tenant: "t", requester: requester, area: "oncology", question: "why?\n",
                                 mode: .call, createdAt: 1, expiresAt: 60_001)
        let json = try object(ModOfferEvent(request))
        #expect(json["type"] as? String == "mod.offer")
        #expect(json["request"] as? String == "m1")
        #expect(json["area"] as? String == "oncology")
        #expect(json["question"] as? String == "why?\n")
        #expect(json["mode"] as? String == "call")
        #expect(json["expires_at"] as? Int == 60_001)
        let from = try #require(json["from"] as? [String: Any])
        #expect(from["user"] as? String == "h1")
        #expect(from["name"] as? String == #"Dr "H" Ito"#)
        #expect(from["role"] as? String == "hcp")
    }

    @Test func modTakenClaimedAndWithdrawnHaveTheirFields() throws {
        #expect(try object(ModRequestEvent(type: "mod.taken", request: "m1")) as NSDictionary
            == ["type": "mod.taken", "request": "m1"] as NSDictionary)
        #expect(try object(ModWithdrawnEvent(request: "m1", reason: "cancelled")) as NSDictionary
            == ["type": "mod.withdrawn", "request": "m1", "reason": "cancelled"] as NSDictionary)
        let claimed = try object(ModClaimedEvent(request: "m1", by: .init(user: "f1", name: "F One"), room: "r9", mode: .chat))
        #expect(claimed as NSDictionary == [
            "type": "mod.claimed", "request": "m1", "by": ["user": "f1", "name": "F One"], "room": "r9", "mode": "chat",
        ] as NSDictionary)
    }

    @Test func callEventsHaveTheirFields() throws {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"
        let ring = try object(CallRingEvent(call: "c1", room: "r1", from: .init(user: "a", name: "A", device: "d"),
                                            media: .video, sdp: sdp))
        #expect(ring as NSDictionary == [
            "type": "call.ring", "call": "c1", "room": "r1", "from": ["user": "a", "name": "A", "device": "d"],
            "media": "video", "sdp": sdp,
        ] as NSDictionary)
        let accepted = try object(CallAcceptedEvent(call: "c1", by: .init(user: "b", name: "Bo", device: "e"), sdp: sdp))
        #expect(accepted as NSDictionary == [
            "type": "call.accepted", "call": "c1", "by": ["user": "b", "name": "Bo", "device": "e"], "sdp": sdp,
        ] as NSDictionary)
        #expect(try object(CallEndedEvent(call: "c1", reason: "hangup")) as NSDictionary
            == ["type": "call.ended", "call": "c1", "reason": "hangup"] as NSDictionary)
        let renegotiate = try object(CallSDPEvent(call: "c1", description: .init(type: .offer, sdp: sdp)))
        #expect(renegotiate as NSDictionary == [
            "type": "call.sdp", "call": "c1", "description": ["type": "offer", "sdp": sdp],
        ] as NSDictionary)
    }
}
