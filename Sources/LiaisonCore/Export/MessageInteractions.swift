import Crypto
import Foundation

/// Messages: one row per `msg.send`, with the body read from the room's files (or only its SHA-256).
struct MessageInteractions: InteractionRecordBuilder {
    let actions: Set<String> = ["msg.send"]

    func build(_ entry: AuditEntry, state: inout ExportState) -> InteractionRecord? {
        guard let room = entry[detail: "room"] else { return nil }
        var record = InteractionRecord(entry, kind: "message", event: "sent")
        record.set(.room, room)
        record.set(.seq, number: entry[detail: "seq"])
        record.set(.messageKind, entry[detail: "kind"])
        record.set(.size, number: entry[detail: "size"])
        record.set(.bodySHA256, entry[detail: "sha256"])
        record.set(.files, list: entry.list("files"))
        record.parties.formUnion(state.members(of: room))
        return record
    }

    func complete(_ record: inout InteractionRecord, query: ExportQuery, lookup: MessageLookup) throws {
        guard query.bodies == .include else {
            record.set(.bodyStatus, "hashed")
            return
        }
        guard let room = record.room, case .number(let seq)? = record[.seq],
              let event = try lookup.event(room: room, seq: UInt64(seq))
        else {
            record.set(.bodyStatus, "missing")
            return
        }
        if event.kind == .erased {
            record.set(.bodyStatus, "erased")
            record.set(.erasedAt, event.erasedAt)
            return
        }
        let body = event.body ?? ""
        let digest = Hex.encode(SHA256.hash(data: Data(body.utf8)))
        record.set(.bodyStatus, record[.bodySHA256] == .text(digest) ? "included" : "mismatch")
        record.set(.body, body)
    }
}
