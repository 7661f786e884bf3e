/// Where the audit trail is also kept (cluster mode: JetStream), so that the node that takes over continues
/// the same trail. Called on the audit writer's queue only, with whole, synced records, in order.
public protocol AuditMirror: Sendable {
    /// Queues `lines` (whole records, each ending in a newline) after those not kept yet, then tries to keep
    /// everything queued; false if some are still queued (call again, with nothing new, to retry).
    func keep(_ lines: [UInt8]) -> Bool
}
