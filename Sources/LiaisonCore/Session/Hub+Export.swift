import Dispatch

/// The interaction record over the wire (`GET /v1/admin/export`).
extension Hub {
    /// Before an export: in cluster mode the journal is not on this disk, so a snapshot first writes every
    /// message so far into the room archives the export reads (with the local journal, it reads that too).
    public func prepareExport() async {
        guard !(journal is Journal) else { return }
        await snapshot()
    }

    /// Writes the JSONL interaction record `query` selects for `admin` (of `query.tenant`), after
    /// auditing the export and making everything audited so far durable, so that every message the
    /// trail names is on disk when its row is made. Blocks on files and on `output`: call it from a
    /// thread of its own, never the cooperative pool.
    public func exportInteractions(_ query: ExportQuery, by admin: UserRecord, output: @escaping ExportOutput) throws
        -> InteractionExporter.Summary
    {
        var detail = ["bodies": query.bodies.rawValue, "format": ExportFormat.jsonl.rawValue]
        detail["user"] = query.user
        detail["room"] = query.room
        detail["since"] = query.since.map(String.init)
        detail["until"] = query.until.map(String.init)
        audit.record(AuditEvent("interaction.export", tenant: admin.tenant, actor: admin.user, detail: detail))
        audit.flush()
        // A message is journaled before it is audited: once this runs, each one the trail names is written.
        let journaled = DispatchSemaphore(value: 0)
        journal.afterPendingWrites { journaled.signal() }
        journaled.wait()
        return try InteractionExporter(dataDirectory: dataPath, fileSystem: fileSystem)
            .run(query, format: .jsonl, output: output)
    }
}
