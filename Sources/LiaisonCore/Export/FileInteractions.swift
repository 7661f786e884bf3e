/// Files: a row per upload and per download, with the file's size, type and SHA-256 (its bytes are
/// never in the record). Sharing shows on the message that carried the file (`files`); a download's
/// parties are the members of the rooms the file was shared in.
struct FileInteractions: InteractionRecordBuilder {
    let actions: Set<String> = ["file.upload", "file.download"]

    func build(_ entry: AuditEntry, state: inout ExportState) -> InteractionRecord? {
        guard let file = entry[detail: "file"] else { return nil }
        var record = InteractionRecord(entry, kind: "file", event: entry.record.action == "file.upload" ? "uploaded" : "downloaded")
        record.set(.file, file)
        record.set(.size, number: entry[detail: "size"])
        record.set(.sha256, entry[detail: "sha256"])
        record.set(.contentType, entry[detail: "content_type"])
        // A download concerns the rooms it was shared in: their members are its parties.
        for room in entry.list("rooms") { record.parties.formUnion(state.members(of: room)) }
        return record
    }
}
