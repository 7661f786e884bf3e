import Foundation
import LiaisonCore
import Testing
@testable import LiaisonCluster

/// Checkpoints of snapshot files in a real `nats-server -js`: what one node's files were, another node's
/// data directory gets back, from the changed bytes uploaded each time.
@Suite(.serialized) struct CheckpointTests {
    /// A data directory whose snapshot files (`rooms/…`, `mod.json`) are tracked.
    struct DataDirectory {
        let root: String
        let files: ChangeTrackingFileSystem

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-cp-\(UUID().uuidString)").path
            try LocalFileSystem().makeDirectory(root)
            files = ChangeTrackingFileSystem(root: root, base: LocalFileSystem(), tracked: Hub.isSnapshotFile)
        }

        func path(_ relative: String) -> String { Path.join(root, relative) }

        func append(_ relative: String, _ bytes: [UInt8]) throws {
            try files.makeDirectory(Path.parent(of: path(relative)))
            let file = try files.openDurably(path(relative))
            try file.append(bytes)
            try file.sync()
        }

        /// Every file under the root, by relative path.
        func contents() throws -> [String: [UInt8]] {
            var found: [String: [UInt8]] = [:]
            let enumerator = FileManager.default.enumerator(atPath: root)
            while let relative = enumerator?.nextObject() as? String {
                var directory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path(relative), isDirectory: &directory), !directory.boolValue {
                    found[relative] = try LocalFileSystem().contents(of: path(relative))
                }
            }
            return found
        }
    }

    func blobs(_ server: NATSServer) throws -> JetStreamBlobs {
        try JetStreamBlobs(NATSConnection(url: server.url, name: "t"), stream: "S", prefix: "s", replicas: 1, chunkBytes: 64)
    }

    func checkpoint(_ directory: DataDirectory, _ store: JetStreamCheckpoints, through: UInt64) throws -> String {
        let prepared = try store.prepare(through: through)
        try store.commit(prepared)
        return prepared.manifest
    }

    func restored(_ server: NATSServer, _ manifest: String, term: UInt64) throws -> (DataDirectory, UInt64) {
        let directory = try DataDirectory()
        let store = JetStreamCheckpoints(blobs: try blobs(server), files: directory.files, term: term)
        return (directory, try store.restore(manifest).through)
    }

    @Test func anotherDataDirectoryGetsBackTheSnapshotFilesAndNothingElse() throws {
        let server = try NATSServer()
        let source = try DataDirectory()
        let store = JetStreamCheckpoints(blobs: try blobs(server), files: source.files, term: 1)
        try source.append("rooms/r1/messages.log", Array(0..<200))
        try source.files.replace(source.path("rooms/r1/meta.json"), with: Array("{\"lastSeq\":1}".utf8))
        try source.files.replace(source.path("mod.json"), with: Array("{}".utf8))
        try source.append("users.jsonl", Array("{}\n".utf8))  // kept by the journal, not checkpointed
        let manifest = try checkpoint(source, store, through: 7)
        let (copy, through) = try restored(server, manifest, term: 2)
        #expect(through == 7)
        var expected = try source.contents()
        expected["users.jsonl"] = nil
        #expect(try copy.contents() == expected)
    }

    @Test func aLaterCheckpointUploadsOnlyTheAppendedBytes() throws {
        let server = try NATSServer()
        let source = try DataDirectory()
        let store = JetStreamCheckpoints(blobs: try blobs(server), files: source.files, term: 1)
        let log = "rooms/r1/messages.log"
        try source.append(log, [UInt8](repeating: 1, count: 1000))
        _ = try checkpoint(source, store, through: 1)
        try source.append(log, [UInt8](repeating: 2, count: 10))
        let prepared = try store.prepare(through: 2)
        try store.commit(prepared)
        #expect(prepared.uploaded < 1000)  // the 10 bytes and the manifest
        // So does the next node, on top of what it restored.
        let copy = try DataDirectory()
        let next = JetStreamCheckpoints(blobs: try blobs(server), files: copy.files, term: 2)
        _ = try next.restore(prepared.manifest)
        try copy.append(log, [UInt8](repeating: 3, count: 10))
        let after = try next.prepare(through: 3)
        try next.commit(after)
        #expect(after.uploaded < 1000)
        let (third, _) = try restored(server, after.manifest, term: 3)
        #expect(try third.contents() == copy.contents())
        #expect(try third.contents()[log]?.count == 1020)
    }

    @Test func overwrittenBytesAreInNoBlobOnceTheNextCheckpointCountsAndRemovedFilesAreGone() throws {
        let server = try NATSServer()
        let source = try DataDirectory()
        let store = JetStreamCheckpoints(blobs: try blobs(server), files: source.files, term: 1)
        let log = "rooms/r1/messages.log"
        let secret = Array("a message retention erases".utf8)
        try source.append(log, [UInt8](repeating: 1, count: 100) + secret + [UInt8](repeating: 1, count: 500))
        try source.append("rooms/r2/messages.log", [1, 2, 3])
        _ = try checkpoint(source, store, through: 1)
        try source.append(log, [UInt8](repeating: 2, count: 10))
        try source.files.overwrite(source.path(log), at: 100, with: [UInt8](repeating: 32, count: secret.count))
        try source.files.remove(source.path("rooms/r2/messages.log"))
        #expect(store.erasurePending)
        let manifest = try checkpoint(source, store, through: 2)
        #expect(!store.erasurePending)
        var stored: [UInt8] = []
        try blobs(server).forEachChunk { _, _, bytes in stored += bytes }
        #expect(stored.count > 600)
        #expect(!stored.indices.contains { stored[$0...].starts(with: secret) })
        let (copy, _) = try restored(server, manifest, term: 2)
        #expect(try copy.contents() == source.contents())
        #expect(try copy.contents()["rooms/r2/messages.log"] == nil)
    }

    @Test func blobsNoManifestNamesAreRemovedOnceTheyOutweighTheLiveBytesTwice() throws {
        let server = try NATSServer()
        let source = try DataDirectory()
        let store = JetStreamCheckpoints(blobs: try blobs(server), files: source.files, term: 2,
                                         slack: 0)
        try source.files.replace(source.path("mod.json"), with: [UInt8](repeating: 1, count: 500))
        _ = try checkpoint(source, store, through: 1)
        // A node that died uploading left 3,000 bytes no manifest names.
        let orphan = [UInt8](repeating: 7, count: 3000)
        try blobs(server).put("1-0-1", size: orphan.count) { offset, length in Array(orphan[offset..<(offset + length)]) }
        try source.files.replace(source.path("mod.json"), with: [UInt8](repeating: 2, count: 500))
        let manifest = try checkpoint(source, store, through: 2)
        #expect(try blobs(server).size().bytes < 1500)
        let (copy, through) = try restored(server, manifest, term: 3)
        #expect(through == 2)
        #expect(try copy.contents() == source.contents())
    }

    @Test func aCheckpointPreparedAgainAfterOneThatWasNeverNamedIsRestored() throws {
        let server = try NATSServer()
        let source = try DataDirectory()
        let store = JetStreamCheckpoints(blobs: try blobs(server), files: source.files, term: 1)
        try source.append("rooms/r1/messages.log", Array(0..<100))
        _ = try checkpoint(source, store, through: 1)
        try source.files.overwrite(source.path("rooms/r1/messages.log"), at: 10, with: [0, 0])
        // No journal record ever named this one: the next snapshot prepares again, covering the same records,
        // and must still carry the overwrite.
        _ = try store.prepare(through: 5)
        try source.append("rooms/r1/messages.log", Array(100..<120))
        let manifest = try checkpoint(source, store, through: 5)
        let (copy, through) = try restored(server, manifest, term: 2)
        #expect(through == 5)
        #expect(try copy.contents() == source.contents())
    }

    @Test func aCheckpointWhoseBlobsAreGoneIsNotRestored() throws {
        let server = try NATSServer()
        let source = try DataDirectory()
        let store = JetStreamCheckpoints(blobs: try blobs(server), files: source.files, term: 1)
        try source.append("rooms/r1/messages.log", Array(0..<100))
        let manifest = try checkpoint(source, store, through: 1)
        try blobs(server).remove("1-0-1")
        #expect(throws: CheckpointError.self) { try restored(server, manifest, term: 2) }
    }
}
