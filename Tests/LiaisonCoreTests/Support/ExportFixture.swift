import Crypto
import Foundation
@testable import LiaisonCore

/// A data directory in memory written the way the server writes it, for export tests: audit records
/// through `AuditLog`, messages in room archives (or only in the journal), so each row can be traced
/// back to its audit line.
final class ExportFixture {
    static let root = "/data"
    let fileSystem = SimulatedFileSystem()
    let audit: AuditLog
    private var pending: [String: [StoredMessage]] = [:]
    private var archived: [String: UInt64] = [:]
    private var seqs: [String: UInt64] = [:]
    private var tenants: [String: String] = [:]

    init() throws {
        try fileSystem.makeDirectory(Self.root)
        audit = try AuditLog(path: Path.join(Self.root, "audit.log"), fileSystem: fileSystem)
    }

    func record(_ action: String, tenant: String = "t1", actor: String?, device: String? = nil,
                refused: ErrorCode? = nil, _ detail: [String: String]) {
        audit.record(AuditEvent(action, tenant: tenant, actor: actor, device: device, refused: refused, detail: detail))
    }

    func createRoom(_ room: String, tenant: String = "t1", by creator: String, members: [String], kind: String = "group") {
        tenants[room] = tenant
        record("room.create", tenant: tenant, actor: creator, ["room": room, "kind": kind,
                                                               "members": ([creator] + members).joined(separator: ",")])
    }

    /// Sends `body` in `room` (audited like `RoomActor.send`); its seq.
    @discardableResult
    func send(_ body: String, in room: String, from sender: String, kind: MessageKind = .text) -> UInt64 {
        let seq = (seqs[room] ?? 0) + 1
        seqs[room] = seq
        let event = MessageEvent(room: room, seq: seq, from: sender, fromName: nil, body: body, ts: WallClock.now(),
                                 clientMsgID: "c\(seq)", kind: kind)
        pending[room, default: []].append(StoredMessage(seq: seq, from: sender, clientMsgID: "c\(seq)", ts: event.ts,
                                                        frame: FrameEncoder.event(event)))
        record("msg.send", tenant: tenants[room] ?? "t1", actor: sender, [
            "room": room, "seq": String(seq), "size": String(body.utf8.count), "kind": kind.rawValue,
            "sha256": Hex.encode(SHA256.hash(data: Data(body.utf8))),
        ])
        return seq
    }

    /// Writes the messages sent so far into their rooms' archives and snapshots.
    func snapshot() throws {
        for (room, messages) in pending {
            let archive = RoomArchive(roomsDirectory: Path.join(Self.root, "rooms"), room: room, fileSystem: fileSystem)
            try archive.append(messages, after: archived[room] ?? 0)
            let last = messages.last!.seq
            archived[room] = last
            try archive.write(RoomArchive.Meta(id: room, tenant: tenants[room] ?? "t1", kind: .group, title: nil, createdAt: 0,
                                               members: [], lastSeq: last, acked: [:], read: [:], snapshotAt: 0))
        }
        pending = [:]
    }

    /// Writes the messages sent since the last snapshot to a journal segment instead.
    func journal() throws {
        try fileSystem.makeDirectory(Path.join(Self.root, "journal"))
        let journal = try Journal(directory: Path.join(Self.root, "journal"), mode: .always, lastSegment: 0,
                                  fileSystem: fileSystem)
        let done = DispatchSemaphore(value: 0)
        for message in pending.values.joined() { journal.append(.frame(message.frame)) }
        journal.afterPendingWrites { done.signal() }
        done.wait()
        journal.close()
        pending = [:]
    }

    /// Runs an export; its output and summary.
    func export(_ query: ExportQuery, format: ExportFormat = .jsonl) throws -> (output: [UInt8], summary: InteractionExporter.Summary) {
        audit.flush()
        var output: [UInt8] = []
        let summary = try InteractionExporter(dataDirectory: Self.root, fileSystem: fileSystem)
            .run(query, format: format) { output += $0 }
        return (output, summary)
    }

    /// The JSONL rows of an export.
    func rows(_ query: ExportQuery) throws -> [[String: Any]] {
        let (output, _) = try export(query)
        return try output.split(separator: UInt8(ascii: "\n")).map {
            try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any]
        }
    }

    /// The audit file's lines, decoded.
    func auditLines() throws -> [[String: Any]] {
        audit.flush()
        let bytes = try fileSystem.contents(of: Path.join(Self.root, "audit.log")) ?? []
        return try bytes.split(separator: UInt8(ascii: "\n")).map {
            try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any]
        }
    }

    /// Replaces the audit file's bytes.
    func rewriteAudit(_ change: (inout [UInt8]) -> Void) throws {
        audit.flush()
        let path = Path.join(Self.root, "audit.log")
        var bytes = try fileSystem.contents(of: path) ?? []
        change(&bytes)
        try fileSystem.replace(path, with: bytes)
    }
}
