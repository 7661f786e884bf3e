import Foundation
import LiaisonCore
import LiaisonSync
import Testing
@testable import LiaisonCluster

/// The cluster's journal against a real `nats-server -js`: taking over, checkpoints, fencing.
@Suite(.serialized) struct JetStreamJournalTests {
    let subjects = JetStreamJournal.Subjects(snapshotted: "j.snapshotted", kept: "j.kept")

    /// The journal of node `node`, its data directory `root`, checkpointing after every record.
    func open(_ server: NATSServer, node: String, root: String, fenced: @escaping @Sendable (String) -> Void = { _ in })
        throws -> (ExternalJournal, ChangeTrackingFileSystem)
    {
        let connection = try NATSConnection(url: server.url, name: node)
        let log = try JetStreamLog(connection, stream: "J", subject: "j.>", replicas: 1)
        let blobs = try JetStreamBlobs(connection, stream: "S", prefix: "s", replicas: 1)
        let files = ChangeTrackingFileSystem(root: root, base: LocalFileSystem(), tracked: Hub.isSnapshotFile)
        let journal = try JetStreamJournal.open(
            log, subjects: subjects, node: node, checkpointRecords: 1,
            checkpoints: { JetStreamCheckpoints(blobs: blobs, files: files, term: $0) },
            fenced: fenced)
        return (journal, files)
    }

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-j-\(UUID().uuidString)").path
        try LocalFileSystem().makeDirectory(path)
        return path
    }

    func append(_ journal: any JournalWriter, _ text: String, kind: JournalRecordKind = .snapshotted) async {
        await withCheckedContinuation { done in journal.append(.bytes(Array(text.utf8)), kind: kind) { done.resume() } }
    }

    @Test func aNodeThatTakesOverRestoresTheCheckpointAndReplaysOnlyKeptRecordsAndWhatCameAfter() async throws {
        let server = try NATSServer()
        let (first, files) = try open(server, node: "a", root: try temporaryDirectory())
        await append(first.writer, #"{"type":"user.put","n":1}"#, kind: .kept)
        await append(first.writer, #"{"type":"msg","n":1}"#)
        let snapshot = Path.join(files.root, "rooms/r1/meta.json")
        try files.makeDirectory(Path.parent(of: snapshot))
        try files.replace(snapshot, with: Array("covers msg 1".utf8))
        let covered = await first.writer.rotate()
        try first.writer.removeSegments(before: covered)
        await append(first.writer, #"{"type":"msg","n":2}"#)

        let root = try temporaryDirectory()
        let (second, _) = try open(server, node: "b", root: root)
        let replayed = second.records.map { String(decoding: $0, as: UTF8.self) }
        #expect(replayed.contains(#"{"type":"user.put","n":1}"#))
        #expect(replayed.contains(#"{"type":"msg","n":2}"#))
        #expect(!replayed.contains(#"{"type":"msg","n":1}"#))
        #expect(try LocalFileSystem().contents(of: Path.join(root, "rooms/r1/meta.json")) == Array("covers msg 1".utf8))
    }

    @Test func aDeposedNodeWhoseAppendFindsAnotherNodesRecordWhereItsOwnWouldBeIsFenced() async throws {
        let server = try NATSServer()
        let fenced = Locked<[String]>([])
        let (first, _) = try open(server, node: "a", root: try temporaryDirectory()) { reason in
            fenced.withLock { $0.append(reason) }
        }
        await append(first.writer, #"{"type":"msg","n":1}"#)
        // b takes over: its record follows a's; a's next batch of two expects the log to end at a's record,
        // is refused, and finds the log one record further: not a's first record, b's.
        _ = try open(server, node: "b", root: try temporaryDirectory())
        first.writer.append(.bytes(Array("a's".utf8)), kind: .snapshotted, completion: { Issue.record("acknowledged") })
        first.writer.append(.bytes(Array("a's too".utf8)), kind: .snapshotted, completion: { Issue.record("acknowledged") })
        let deadline = ContinuousClock.now + .seconds(10)
        while fenced.withLock({ $0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(fenced.withLock { $0.count } == 1)
        // Neither of a's two records is in the log: the second expected the first before it.
        let log = try JetStreamLog(NATSConnection(url: server.url, name: "c"), stream: "J", subject: "j.>", replicas: 1)
        let records = try log.readAll(through: try log.lastSequence()).map { String(decoding: $0, as: UTF8.self) }
        #expect(records.count == 3 && !records.contains("a's") && !records.contains("a's too"))
    }
}
