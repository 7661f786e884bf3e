import Crypto
import Foundation
import Testing
@testable import LiaisonCore

/// The interaction record: rows built from the verified audit trail in its order, each with its audit
/// record's hash; bodies from the rooms' files; filters; a broken chain refuses the export.
@Suite struct InteractionExportTests {
    /// A day in tenant t1 (and a little of t2): chat, a MOD request claimed, an answered call, a
    /// declined call, a room left.
    func day() throws -> ExportFixture {
        let day = try ExportFixture()
        day.createRoom("rA", by: "ana", members: ["ben"])
        day.send("hello ben", in: "rA", from: "ana")
        day.send("=HYPERLINK(\"x\"), hi \"ana\"", in: "rA", from: "ben")
        day.createRoom("rX", tenant: "t2", by: "zoe", members: ["yan"])
        day.send("other tenant", in: "rX", from: "zoe")
        day.record("mod.request", actor: "ana", ["request": "m1", "area": "onco", "mode": "chat", "offered": "2",
                                                 "offered_to": "fay,gus"])
        day.record("mod.claim", actor: "gus", device: "g1", refused: .alreadyClaimed,
                   ["request": "m1", "outcome": "alreadyClaimed"])
        day.record("mod.claim", actor: "fay", device: "f1", ["request": "m1", "outcome": "won"])
        day.createRoom("rM", by: "ana", members: ["fay"], kind: "mod")
        day.send("What is the max dose?", in: "rM", from: "ana")
        day.record("mod.taken", actor: "fay", ["request": "m1", "room": "rM", "notified": "1"])
        day.record("call.invite", actor: "ana", device: "a1", ["call": "c1", "room": "rA", "media": "audio",
                                                               "ringing": "1", "ringing_users": "ben"])
        day.record("call.accept", actor: "ben", device: "b1", ["call": "c1", "room": "rA"])
        day.record("call.hangup", actor: "ben", device: "b1", ["call": "c1"])
        day.record("call.end", actor: "ana", ["call": "c1", "room": "rA", "reason": "hangup", "media": "audio",
                                              "duration_ms": "65000", "caller_device": "a1", "callee": "ben",
                                              "callee_device": "b1", "rang_at": "1000", "answered_at": "3000",
                                              "ended_at": "68000"])
        day.record("call.invite", actor: "ben", device: "b1", ["call": "c2", "room": "rA", "media": "video",
                                                               "ringing": "1", "ringing_users": "ana"])
        day.record("call.reject", actor: "ana", device: "a1", ["call": "c2"])
        day.record("call.end", actor: "ben", ["call": "c2", "room": "rA", "reason": "rejected", "media": "video",
                                              "duration_ms": "", "caller_device": "b1", "rang_at": "5000",
                                              "ended_at": "6000"])
        day.record("room.leave", actor: "ben", device: "b1", ["room": "rA"])
        day.send("ben is gone", in: "rA", from: "ana")
        day.record("presence.change", actor: "ana", ["status": "busy"])
        try day.snapshot()
        return day
    }

    func strings(_ rows: [[String: Any]], _ key: String) -> [String] { rows.map { $0[key] as? String ?? "-" } }

    @Test func everyInteractionOfTheTenantOnceInTrailOrderWithItsAuditHash() throws {
        let day = try day()
        let rows = try day.rows(ExportQuery(tenant: "t1"))
        let audit = try day.auditLines()
        let byHash = Dictionary(uniqueKeysWithValues: audit.map { ($0["hash"] as! String, $0) })
        #expect(rows.count == audit.filter { $0["tenant"] as? String == "t1" && $0["action"] as? String != "presence.change" }.count)
        for row in rows {
            let record = try #require(byHash[row["audit_hash"] as! String])
            #expect(record["seq"] as? Int == row["audit_seq"] as? Int)
            #expect(record["ts"] as? Int == row["ts"] as? Int)
            #expect(record["actor"] as? String == row["actor"] as? String)
        }
        let seqs = rows.map { $0["audit_seq"] as! Int }
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
        #expect(strings(rows, "kind") == ["room", "message", "message", "mod", "mod", "mod", "room", "message", "mod",
                                          "call", "call", "call", "call", "call", "call", "call", "room", "message"])
        #expect(!strings(rows, "tenant").contains("t2"))
    }

    @Test func messagesCarryTheirBodiesAndTheHashTheTrailRecorded() throws {
        let rows = try day().rows(ExportQuery(tenant: "t1", room: "rA")).filter { $0["kind"] as? String == "message" }
        #expect(strings(rows, "body") == ["hello ben", "=HYPERLINK(\"x\"), hi \"ana\"", "ben is gone"])
        #expect(strings(rows, "body_status") == ["included", "included", "included"])
        #expect(rows.map { $0["seq"] as? Int } == [1, 2, 3])
        for row in rows {
            #expect(row["body_sha256"] as? String == Hex.encode(SHA256.hash(data: Data((row["body"] as! String).utf8))))
        }
    }

    @Test func hashedBodiesNeedNothingButTheTrail() throws {
        let day = try day()
        try day.fileSystem.remove(Path.join(ExportFixture.root, "rooms/rA/messages.log"))
        let rows = try day.rows(ExportQuery(tenant: "t1", room: "rA", bodies: .hash)).filter { $0["kind"] as? String == "message" }
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0["body"] == nil && $0["body_status"] as? String == "hashed" && $0["body_sha256"] is String })
    }

    @Test func callsEndWithTheirOutcomeDurationAndParties() throws {
        let rows = try day().rows(ExportQuery(tenant: "t1")).filter { $0["kind"] as? String == "call" }
        #expect(strings(rows, "event") == ["invited", "accepted", "hung_up", "ended", "invited", "declined", "ended"])
        #expect(strings(rows, "room") == Array(repeating: "rA", count: 7))
        let ended = rows.filter { $0["event"] as? String == "ended" }
        #expect(strings(ended, "outcome") == ["answered", "declined"])
        #expect(ended[0]["duration_ms"] as? Int == 65000)
        #expect(ended[0]["callee"] as? String == "ben" && ended[0]["callee_device"] as? String == "b1")
        #expect(ended[0]["rang_at"] as? Int == 1000 && ended[0]["answered_at"] as? Int == 3000 && ended[0]["ended_at"] as? Int == 68000)
        #expect(ended[1]["duration_ms"] == nil && ended[1]["answered_at"] == nil)
        #expect(rows[0]["users"] as? [String] == ["ben"])
    }

    @Test func modRequestsShowWhoWasOfferedWhoLostAndWhoWon() throws {
        let rows = try day().rows(ExportQuery(tenant: "t1")).filter { $0["kind"] as? String == "mod" }
        #expect(strings(rows, "event") == ["requested", "claim", "claim", "taken"])
        #expect(rows[0]["users"] as? [String] == ["fay", "gus"])
        #expect(strings(rows, "outcome") == ["-", "already_claimed", "won", "-"])
        #expect(strings(rows, "refused") == ["-", "already_claimed", "-", "-"])
        #expect(rows[3]["room"] as? String == "rM" && rows[3]["actor"] as? String == "fay")
    }

    @Test func aUserSeesWhatTheyTookPartInWhileTheyTookPart() throws {
        let day = try day()
        let ben = try day.rows(ExportQuery(tenant: "t1", user: "ben"))
        // ben left rA before its last message; he was never part of the MOD request.
        #expect(strings(ben.filter { $0["kind"] as? String == "message" }, "body") == ["hello ben", "=HYPERLINK(\"x\"), hi \"ana\""])
        #expect(!ben.contains { $0["kind"] as? String == "mod" })
        #expect(ben.filter { $0["kind"] as? String == "call" }.count == 7)
        let gus = try day.rows(ExportQuery(tenant: "t1", user: "gus"))
        #expect(strings(gus, "event") == ["requested", "claim", "claim", "taken"])
        let fay = try day.rows(ExportQuery(tenant: "t1", user: "fay"))
        #expect(strings(fay.filter { $0["kind"] as? String == "message" }, "body") == ["What is the max dose?"])
    }

    @Test func aTimeWindowKeepsTheRowsInside() throws {
        let day = try day()
        let all = try day.rows(ExportQuery(tenant: "t1"))
        let middle = all[all.count / 2]["ts"] as! Int
        let since = try day.rows(ExportQuery(tenant: "t1", since: Millis(middle)))
        let until = try day.rows(ExportQuery(tenant: "t1", until: Millis(middle)))
        #expect(since.allSatisfy { ($0["ts"] as! Int) >= middle })
        #expect(until.allSatisfy { ($0["ts"] as! Int) < middle })
        #expect(since.count + until.count == all.count)
    }

    @Test func aTamperedTrailRefusesTheExportBeforeAnythingIsWritten() throws {
        let day = try day()
        try day.rewriteAudit { bytes in
            let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "hello", with: "HELLO")
            bytes = Array(text.replacingOccurrences(of: "\"size\":\"9\"", with: "\"size\":\"8\"").utf8)
        }
        var written = 0
        #expect(throws: ExportError.brokenChain(line: 2, reason: "record 2 was altered: its hash does not match its content")) {
            try InteractionExporter(dataDirectory: ExportFixture.root, fileSystem: day.fileSystem)
                .run(ExportQuery(tenant: "t1"), format: .csv) { written += $0.count }
        }
        #expect(written == 0)
    }

    @Test func aRemovedRecordRefusesTheExportNamingIt() throws {
        let day = try day()
        try day.rewriteAudit { bytes in
            var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            lines.remove(at: 3)
            bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
        }
        #expect {
            try day.export(ExportQuery(tenant: "t1"))
        } throws: { error in
            guard case .brokenChain(line: 4, let reason)? = error as? ExportError else { return false }
            return reason.contains("does not follow")
        }
    }

    @Test func bodiesComeFromTheJournalTombstonesOrAreReportedMissingOrAltered() throws {
        let day = try ExportFixture()
        day.createRoom("r1", by: "ana", members: ["ben"])
        day.send("first", in: "r1", from: "ana")
        day.send("second", in: "r1", from: "ana")
        try day.snapshot()
        day.send("journaled", in: "r1", from: "ben")
        try day.journal()
        day.send("never stored", in: "r1", from: "ben")
        let archive = RoomArchive(roomsDirectory: Path.join(ExportFixture.root, "rooms"), room: "r1", fileSystem: day.fileSystem)
        let plan = try archive.planErasure(after: 0, through: 2, before: .max, limit: 1, now: 77)
        try archive.commit(plan, after: 0)
        let rows = try day.rows(ExportQuery(tenant: "t1")).filter { $0["kind"] as? String == "message" }
        #expect(strings(rows, "body_status") == ["erased", "included", "included", "missing"])
        #expect(strings(rows, "body") == ["-", "second", "journaled", "-"])
        #expect(rows[0]["erased_at"] as? Int == 77)
        #expect(rows[0]["body_sha256"] as? String == Hex.encode(SHA256.hash(data: Data("first".utf8))))

        // A body changed on disk (framed anew, so it reads) no longer has the hash the trail recorded.
        let log = Path.join(ExportFixture.root, "rooms/r1/messages.log")
        let offset = try day.fileSystem.read(Path.join(ExportFixture.root, "rooms/r1/messages.idx"), offset: 8, count: 8)
            .withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        let length = try day.fileSystem.read(log, offset: offset, count: 4)
            .withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        let payload = try day.fileSystem.read(log, offset: offset + 8, count: length)
        let edited = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "second", with: "sec0nd")
        try day.fileSystem.overwrite(log, at: offset, with: RecordFraming.frame(Array(edited.utf8)))
        let after = try day.rows(ExportQuery(tenant: "t1")).filter { $0["kind"] as? String == "message" }
        #expect(after[1]["body_status"] as? String == "mismatch")
        #expect(after[1]["body"] as? String == "sec0nd")
    }

    @Test func manyRoomsPageThroughASmallCache() throws {
        let day = try ExportFixture()
        for room in 0..<40 { day.createRoom("r\(room)", by: "ana", members: []) }
        for round in 0..<50 {
            for room in 0..<40 { day.send("m\(round)-\(room)", in: "r\(room)", from: "ana") }
        }
        try day.snapshot()
        let lookup = MessageLookup(dataDirectory: ExportFixture.root, fileSystem: day.fileSystem, pageSize: 8, budgetBytes: 4096)
        for round in 0..<50 {
            for room in 0..<40 {
                #expect(try lookup.event(room: "r\(room)", seq: UInt64(round + 1))?.body == "m\(round)-\(room)")
            }
        }
    }
}
