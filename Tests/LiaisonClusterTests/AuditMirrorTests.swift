import Foundation
import LiaisonSync
import Testing
@testable import LiaisonCluster

/// The audit trail's mirror in a real `nats-server -js`: a node that takes over again reads only what it
/// lacks, keeps aside what the log never got, and a deposed writer is fenced.
@Suite(.serialized) struct AuditMirrorTests {
    func log(_ server: NATSServer, _ name: String) throws -> JetStreamLog {
        try JetStreamLog(NATSConnection(url: server.url, name: name), stream: "A", subject: "a", replicas: 1)
    }

    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-am-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func lines(_ text: String) -> [UInt8] { Array(text.utf8) }

    func superseded(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("audit-superseded-") }
            .map { String(decoding: try Data(contentsOf: directory.appendingPathComponent($0)), as: UTF8.self) }
    }

    @Test func aNodeThatTakesOverAgainContinuesItsTrailWithWhatTheOthersWrote() throws {
        let server = try NATSServer()
        let (first, second) = (try directory(), try directory())
        let trail = first.appendingPathComponent("audit.log").path
        // a mirrors one record; b takes over and mirrors another; a takes over again.
        let a = try JetStreamAuditMirror.start(try log(server, "a"), trail: trail, fenced: { _ in })
        #expect(a.keep(lines("{\"seq\":1}\n")))
        let b = try JetStreamAuditMirror.start(try log(server, "b"), trail: second.appendingPathComponent("audit.log").path,
                                               fenced: { _ in })
        #expect(b.keep(lines("{\"seq\":2}\n")))
        _ = try JetStreamAuditMirror.start(try log(server, "a"), trail: trail, fenced: { _ in })
        #expect(try String(contentsOfFile: trail, encoding: .utf8) == "{\"seq\":1}\n{\"seq\":2}\n")
        #expect(try superseded(in: first).isEmpty)  // it held nothing the log lacks
    }

    @Test func whatTheTrailHeldBeyondTheLogIsKeptAsideAndTheLogsRecordsTakeItsPlace() throws {
        let server = try NATSServer()
        let (first, second) = (try directory(), try directory())
        let trail = first.appendingPathComponent("audit.log").path
        let a = try JetStreamAuditMirror.start(try log(server, "a"), trail: trail, fenced: { _ in })
        #expect(a.keep(lines("{\"seq\":1}\n")))
        // a wrote a record it never mirrored (killed first); b wrote its own second record.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: trail))
        try handle.seekToEnd()
        try handle.write(contentsOf: lines("{\"seq\":2,\"by\":\"a\"}\n"))
        try handle.close()
        let b = try JetStreamAuditMirror.start(try log(server, "b"), trail: second.appendingPathComponent("audit.log").path,
                                               fenced: { _ in })
        #expect(b.keep(lines("{\"seq\":2,\"by\":\"b\"}\n")))
        _ = try JetStreamAuditMirror.start(try log(server, "a"), trail: trail, fenced: { _ in })
        #expect(try String(contentsOfFile: trail, encoding: .utf8) == "{\"seq\":1}\n{\"seq\":2,\"by\":\"b\"}\n")
        #expect(try superseded(in: first) == ["{\"seq\":2,\"by\":\"a\"}\n"])
    }

    @Test func aDeposedMirrorWhoseRecordsAreNotWhereItAppendedIsFenced() throws {
        let server = try NATSServer()
        let fenced = Locked<[String]>([])
        let a = try JetStreamAuditMirror.start(try log(server, "a"), trail: try directory().appendingPathComponent("audit.log").path,
                                               fenced: { reason in fenced.withLock { $0.append(reason) } })
        let b = try JetStreamAuditMirror.start(try log(server, "b"), trail: try directory().appendingPathComponent("audit.log").path,
                                               fenced: { _ in })
        #expect(b.keep(lines("{\"by\":\"b\"}\n")))
        // a's two records (split across two log records) expect an empty log; the log gained one: b's.
        let long = String(repeating: "x", count: JetStreamAuditMirror.recordBytes - 10)
        #expect(!a.keep(lines("{\"by\":\"a\",\"pad\":\"\(long)\"}\n{\"by\":\"a\"}\n")))
        #expect(fenced.withLock { $0.count } == 1)
        // a's second record expected its first before it: refused too, though the log ended where it expected.
        let stored = try log(server, "c")
        #expect(try stored.readAll(through: try stored.lastSequence()).map { String(decoding: $0, as: UTF8.self) }
            == ["{\"by\":\"b\"}\n"])
    }
}
