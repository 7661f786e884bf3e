import Foundation
import LiaisonSync
import Testing
@testable import LiaisonCluster

/// The journal log and the lease bucket against a real `nats-server -js`.
@Suite(.serialized) struct JetStreamTests {
    @Test func aLogReadsBackEveryRecordInOrder() throws {
        let server = try NATSServer()
        let log = try JetStreamLog(NATSConnection(url: server.url, name: "t"), stream: "T", subject: "t.log", replicas: 1)
        #expect(try log.lastSequence() == 0)
        #expect(try log.readAll(through: 0).isEmpty)
        try log.append([[1], [2, 2], []] as [[UInt8]], after: 0)
        try log.append([[3]] as [[UInt8]], after: 3)
        #expect(try log.lastSequence() == 4)
        #expect(try log.readAll(through: 4).map([UInt8].init) == [[1], [2, 2], [], [3]])
    }

    @Test func aLogOfLargeRecordsIsReadWholePastWhatASubscriptionHoldsByDefault() throws {
        let server = try NATSServer()
        let log = try JetStreamLog(NATSConnection(url: server.url, name: "t"), stream: "T", subject: "t.log", replicas: 1)
        // 160 records of 512 KiB: 80 MiB, more than the 64 MiB libnats keeps for a subscription by default.
        let record = [UInt8](repeating: 7, count: 512 * 1024)
        for batch in 0..<16 { try log.append(Array(repeating: record, count: 10), after: UInt64(batch * 10)) }
        var (count, bytes) = (0, 0)
        try log.forEach(through: 160) { record in
            count += 1
            bytes += record.bytes.count
        }
        #expect(count == 160 && bytes == 160 * record.count)
    }

    @Test func aStreamMadeWithOtherSubjectsIsRefusedWithAClearError() throws {
        let server = try NATSServer()
        let connection = try NATSConnection(url: server.url, name: "t")
        _ = try JetStreamLog(connection, stream: "T", subject: "t.log", replicas: 1)
        let error = try #require(throws: NATSError.self) {
            try JetStreamLog(connection, stream: "T", subject: "t.>", replicas: 1)
        }
        #expect(error.operation.contains("holds other subjects than t.>"))
    }

    @Test func anAppendThatDoesNotFollowTheLogsEndIsRefused() throws {
        let server = try NATSServer()
        let connection = try NATSConnection(url: server.url, name: "t")
        let log = try JetStreamLog(connection, stream: "T", subject: "t.log", replicas: 1)
        try log.append([[1], [2]] as [[UInt8]], after: 0)
        // A writer that believes the log is empty, or that it ends at 1, writes nothing.
        #expect(throws: NATSError.self) { try log.append([[9]] as [[UInt8]], after: 0) }
        #expect(throws: NATSError.self) { try log.append([[9]] as [[UInt8]], after: 1) }
        #expect(try log.readAll(through: try log.lastSequence()).map([UInt8].init) == [[1], [2]])
    }

    @Test func aSecondWriterIsFencedOffOnceTheFirstHasWritten() throws {
        let server = try NATSServer()
        let first = try JetStreamLog(NATSConnection(url: server.url, name: "a"), stream: "T", subject: "t.log", replicas: 1)
        let second = try JetStreamLog(NATSConnection(url: server.url, name: "b"), stream: "T", subject: "t.log", replicas: 1)
        try first.append([[1]] as [[UInt8]], after: 0)
        let end = try second.lastSequence()
        try second.append([[2]] as [[UInt8]], after: end)
        #expect(throws: NATSError.self) { try first.append([[3]] as [[UInt8]], after: 1) }
        #expect(try first.readAll(through: 2).map([UInt8].init) == [[1], [2]])
    }

    @Test func aBucketCreatesOnceAndUpdatesOnlyFromTheCurrentRevision() throws {
        let server = try NATSServer()
        let bucket = try KeyValueBucket(NATSConnection(url: server.url, name: "t"), bucket: "lease", replicas: 1)
        #expect(try bucket.get("active") == nil)
        let created = try #require(try bucket.create("active", Array("a".utf8)))
        #expect(try bucket.create("active", Array("b".utf8)) == nil)
        let updated = try #require(try bucket.update("active", Array("b".utf8), revision: created))
        #expect(try bucket.update("active", Array("c".utf8), revision: created) == nil)
        let entry = try #require(try bucket.get("active"))
        #expect(entry.value == Array("b".utf8) && entry.revision == updated)
    }

    @Test func aBlobReadsBackWholeAcrossChunksAndIsGoneOnceRemoved() throws {
        let server = try NATSServer()
        let blobs = try JetStreamBlobs(NATSConnection(url: server.url, name: "t"), stream: "B", prefix: "b", replicas: 1,
                                       chunkBytes: 4)
        func put(_ name: String, _ bytes: [UInt8]) throws {
            try blobs.put(name, size: bytes.count) { offset, length in Array(bytes[offset..<(offset + length)]) }
        }
        func get(_ name: String) throws -> [UInt8]? {
            var bytes: [UInt8] = []
            return try blobs.get(name) { bytes += $0 } ? bytes : nil
        }
        let bytes: [UInt8] = Array(0..<10)  // three chunks
        try put("x", bytes)
        try put("empty", [])
        let many: [UInt8] = (0..<100).map { UInt8($0) }  // 25 chunks: more than are kept in flight
        try put("many", many)
        #expect(try get("x") == bytes)
        #expect(try get("empty") == [])
        #expect(try get("many") == many)
        #expect(try get("missing") == nil)
        try blobs.remove("x")
        #expect(try get("x") == nil)
        #expect(try get("empty") == [])
    }

    @Test func onlyOneOfTwoStandbysTakesAnAbandonedLeaseAndTheOtherKeepsWaiting() async throws {
        let server = try NATSServer()
        let rules = LeaseRules(duration: .milliseconds(600))
        func lease(_ node: String) throws -> NodeLease {
            NodeLease(bucket: try KeyValueBucket(NATSConnection(url: server.url, name: node), bucket: "lease", replicas: 1),
                      node: node, rules: rules)
        }
        let dead = try lease("dead")
        #expect(await dead.acquire() != nil)  // and never renewed: as if its node died
        let standbys = try [lease("s1"), lease("s2")]
        let holders = Locked<[(NodeLease, UInt64)]>([])
        for standby in standbys {
            Task { if let revision = await standby.acquire() { holders.withLock { $0.append((standby, revision)) } } }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while holders.withLock({ $0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let (winner, revision) = try #require(holders.withLock { $0.first })
        winner.keep(from: revision) { reason in Issue.record("the winner lost the lease: \(reason)") }
        try await Task.sleep(for: .milliseconds(1800))  // three lease durations: the winner renews throughout
        #expect(holders.withLock { $0.count } == 1)
        #expect(dead.holder() == winner.node)
        standbys.forEach { $0.stop() }
    }

    @Test func aRenewalAppliedButUnansweredKeepsTheLeaseAndAnotherNodesWriteLosesIt() async throws {
        let server = try NATSServer()
        let connection = try NATSConnection(url: server.url, name: "a")
        let bucket = try KeyValueBucket(connection, bucket: "lease", replicas: 1)
        let lease = NodeLease(bucket: bucket, node: "a", rules: LeaseRules(duration: .milliseconds(300)))
        let revision = try #require(await lease.acquire())
        // What a renewal that timed out after the server applied it leaves: the node's own name, a newer revision
        try bucket.put(NodeLease.key, Array("a".utf8))
        let lost = Locked<String?>(nil)
        lease.keep(from: revision) { reason in lost.withLock { $0 = reason } }
        try await Task.sleep(for: .milliseconds(600))  // six renewals
        #expect(lost.withLock { $0 } == nil)
        #expect(try #require(try bucket.get(NodeLease.key)).revision > revision + 2)
        // Another node's name is another node's lease
        try bucket.put(NodeLease.key, Array("b".utf8))
        let deadline = ContinuousClock.now + .seconds(5)
        while lost.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(lost.withLock { $0 } == "another node (b) took the cluster lease")
        lease.stop()
    }
}
