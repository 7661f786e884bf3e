import Foundation
import Testing
@testable import LiaisonCore

/// Replies and events as JSON objects, in shareable frames with headroom.
@Suite struct FrameEncoderTests {
    struct Result: Encodable {
        let user: String
        let heartbeat: Int
        let areas: [String]
    }

    func object(_ frame: OutboundFrame) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: frame.payload) as? [String: Any])
    }

    @Test func okMergesResultFieldsWithTypeAndID() throws {
        let frame = FrameEncoder.ok(id: "1", Result(user: "u1", heartbeat: 30, areas: ["oncology"]))
        let json = try object(frame)
        #expect(json.count == 5)
        #expect(json["type"] as? String == "ok")
        #expect(json["id"] as? String == "1")
        #expect(json["user"] as? String == "u1")
        #expect(json["heartbeat"] as? Int == 30)
        #expect(json["areas"] as? [String] == ["oncology"])
    }

    @Test func okWithoutResultHasOnlyTypeAndID() throws {
        let json = try object(FrameEncoder.ok(id: "abc"))
        #expect(json.count == 2)
        #expect(json["type"] as? String == "ok")
        #expect(json["id"] as? String == "abc")
    }

    @Test func errorCarriesIDCodeAndMessage() throws {
        let json = try object(FrameEncoder.error(id: "9", ProtocolError(.rateLimited, "slow down")))
        #expect(json.count == 4)
        #expect(json["type"] as? String == "error")
        #expect(json["id"] as? String == "9")
        #expect(json["code"] as? String == "rate_limited")
        #expect(json["message"] as? String == "slow down")
    }

    @Test func errorWithoutIDOmitsID() throws {
        let json = try object(FrameEncoder.error(id: nil, ProtocolError(.badRequest, "malformed JSON")))
        #expect(json["id"] == nil)
        #expect(json.keys.sorted() == ["code", "message", "type"])
        #expect(json["code"] as? String == "bad_request")
    }

    @Test func errorDetailsAddFieldsButNeverReplaceTypeIDCodeOrMessage() throws {
        let error = ProtocolError(.busy, "busy \"now\"", details: ["call": "c1", "type": "x", "message": "y"])
        let json = try object(FrameEncoder.error(id: "7", error))
        #expect(json as NSDictionary == [
            "type": "error", "id": "7", "code": "busy", "message": "busy \"now\"", "call": "c1",
        ] as NSDictionary)
    }

    @Test func everyErrorCodeHasItsWireName() throws {
        for code in ErrorCode.allCases {
            let json = try object(FrameEncoder.error(id: "1", ProtocolError(code, "x")))
            #expect(json["code"] as? String == code.rawValue)
        }
        #expect(ErrorCode.notFound.rawValue == "not_found")
        #expect(ErrorCode.alreadyClaimed.rawValue == "already_claimed")
        #expect(ErrorCode.internal.rawValue == "internal")
    }

    @Test func slashesAreNotEscaped() throws {
        let frame = FrameEncoder.error(id: "1", ProtocolError(.badRequest, "app/1.2"))
        #expect(String(decoding: frame.payload, as: UTF8.self).contains("app/1.2"))
    }

    @Test func presenceEventCarriesTypeAndEveryField() throws {
        let info = PresenceInfo(user: "u1", status: .away, note: nil, devices: 2, lastSeen: 1_700_000_000_000)
        let json = try object(FrameEncoder.event(PresenceEvent(info: info, name: "Una")))
        #expect(json["type"] as? String == "presence")
        #expect(json["user"] as? String == "u1")
        #expect(json["status"] as? String == "away")
        #expect(json["devices"] as? Int == 2)
        #expect(json["last_seen"] as? Int64 == 1_700_000_000_000)
        // The contract lists `note` among the fields: present, as null, when there is none.
        #expect(json.keys.contains("note"))
        #expect(json["note"] is NSNull)
    }

    @Test func outboundFrameKeepsHeadroomAndThePayloadIntact() {
        let payload = Array(#"{"type":"synced"}"#.utf8)
        let frame = OutboundFrame(payload: payload)
        #expect(frame.count == payload.count)
        #expect(frame.storage.count == OutboundFrame.headroom + payload.count)
        #expect(frame.payload == Data(payload))
        #expect(frame.payloadStart == frame.storage.baseAddress! + OutboundFrame.headroom)
        let atStart = Array(UnsafeRawBufferPointer(start: frame.payloadStart, count: frame.count))
        #expect(atStart == payload)
    }

    @Test func headroomIsWritableWithoutTouchingThePayload() {
        let payload = Array("héllo wörld".utf8)
        let frame = OutboundFrame(payload: payload)
        // The transport writes the WebSocket header into the headroom, right before the payload.
        for offset in 0..<OutboundFrame.headroom { frame.storage[offset] = 0xFF }
        #expect(frame.payload == Data(payload))
    }

    @Test func emptyPayloadHasOnlyHeadroom() {
        let frame = OutboundFrame(payload: [UInt8]())
        #expect(frame.count == 0)
        #expect(frame.payload.isEmpty)
        #expect(frame.storage.count == OutboundFrame.headroom)
    }
}
