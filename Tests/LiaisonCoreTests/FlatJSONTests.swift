import Foundation
import Testing
@testable import LiaisonCore

/// The fast reader of audit records and stored messages reads exactly what `JSONDecoder` reads, and
/// declines (for `JSONDecoder` to take over) what it does not handle.
@Suite struct FlatJSONTests {
    func object(_ text: String) -> [String: FlatJSON.Value]? { FlatJSON.object(Array(text.utf8)) }

    @Test func stringsIntegersBooleansAndObjectsOfStrings() {
        #expect(object(#"{"a":"x","n":-42,"t":true,"f":false,"d":{"k":"v","e":""}}"#) == [
            "a": .string("x"), "n": .integer(-42), "t": .bool(true), "f": .bool(false), "d": .object(["k": "v", "e": ""]),
        ])
        #expect(object(" { \"a\" : 1 , \"b\" : { } } ") == ["a": .integer(1), "b": .object([:])])
        #expect(object("{}") == [:])
    }

    @Test func escapesAreDecodedAsJSONSays() {
        let text = #"{"s":"q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\udc4b é 👋"}"#
        #expect(object(text) == ["s": .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t é 👋 é 👋")])
        let decoded = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        #expect(decoded?["s"] == "q\" b\\ s/ \u{08}\u{0C}\n\r\t é 👋 é 👋")
    }

    @Test func whatItDoesNotHandleIsLeftToJSONDecoder() {
        for text in [
            #"{"a":null}"#, #"{"a":1.5}"#, #"{"a":1e3}"#, #"{"a":[1]}"#, #"{"a":{"b":{"c":"d"}}}"#, #"{"a":{"b":1}}"#,
            #"{"a":"x"} trailing"#, #"{"a":"x""#, #"{"a":"\ud83d"}"#, #"{"a":"\q"}"#, "{\"a\":\"tab\there\"}",
            #"{"a":99999999999999999999}"#, #"["a"]"#, "", #"{"a":"x",}"#,
        ] {
            #expect(object(text) == nil, "\(text)")
        }
    }

    @Test func auditLinesReadTheSameAsWithJSONDecoder() throws {
        let records = [
            AuditRecord(seq: 1, ts: 1_795_316_400_123, action: "msg.send", tenant: "t1", actor: "ana", device: nil,
                        outcome: "ok", code: nil, detail: ["room": "r1", "seq": "3", "sha256": String(repeating: "a", count: 64)],
                        prev: AuditRecord.genesis),
            AuditRecord(seq: 2, ts: -5, action: "request.refused", tenant: nil, actor: nil, device: "d\"1\\",
                        outcome: "refused", code: "forbidden", detail: ["message": "a \"quoted\"\nline é 👋\u{01}"],
                        prev: String(repeating: "b", count: 64)),
            AuditRecord(seq: 3, ts: 0, action: "x", tenant: "t", actor: "a", device: "d", outcome: "ok", code: nil,
                        detail: nil, prev: String(repeating: "c", count: 64)),
        ]
        for record in records {
            let (line, hash) = AuditChain.line(for: record)
            let parsed = try #require(AuditChain.parse(line.dropLast(), decoder: JSONDecoder()))
            #expect(parsed.stated == hash && parsed.actual == hash)
            let text = Array(line.dropLast())
            let marker = try #require(text.firstRange(of: AuditChain.hashMarker))
            let object = Array(text[..<marker.lowerBound]) + [UInt8(ascii: "}")]
            let slow = try JSONDecoder().decode(AuditRecord.self, from: Data(object))
            let fast = try #require(FlatJSON.object(object).flatMap(AuditRecord.init(fields:)))
            for value in [slow, fast, parsed.record] {
                #expect(value.seq == record.seq && value.ts == record.ts && value.action == record.action)
                #expect(value.tenant == record.tenant && value.actor == record.actor && value.device == record.device)
                #expect(value.outcome == record.outcome && value.code == record.code && value.detail == record.detail)
                #expect(value.prev == record.prev)
            }
        }
    }
}
