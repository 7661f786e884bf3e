/// `audit.read`: an admin reads the latest audit records of their tenant.
extension Session {
    static let maxAuditRecords = 1000

    func auditRead(_ params: Request.AuditRead, id: String, caller: Caller) async throws(ProtocolError) -> OutboundFrame {
        guard caller.role == .admin else { throw ProtocolError(.forbidden, "only an admin may read the audit trail") }
        let limit = params.limit ?? 100
        guard (1...Self.maxAuditRecords).contains(limit) else {
            throw ProtocolError(.badRequest, "field 'limit' must be 1 to \(Self.maxAuditRecords)")
        }
        let records = await hub.audit.recent(tenant: caller.record.tenant, limit: limit)
        hub.audit.record(AuditEvent("audit.read", tenant: caller.record.tenant, actor: caller.record.user,
                                    device: caller.device, detail: ["count": String(records.count)]))
        return FrameEncoder.ok(id: id, splicing: "records", records.map { OutboundFrame(payload: $0) })
    }
}
