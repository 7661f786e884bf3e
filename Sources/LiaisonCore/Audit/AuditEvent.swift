/// Something that happened, as a feature reports it to the audit trail.
public struct AuditEvent: Sendable {
    /// What happened, e.g. `session.start`, `presence.watch`, `user.put`.
    public var action: String
    public var tenant: String?
    /// The user who acted, if any.
    public var actor: String?
    public var device: String?
    /// `nil` when allowed; the error code when the request was refused.
    public var refused: ErrorCode?
    /// Action-specific facts (never message bodies, SDP or candidates).
    public var detail: [String: String]

    public init(
        _ action: String, tenant: String? = nil, actor: String? = nil, device: String? = nil,
        refused: ErrorCode? = nil, detail: [String: String] = [:]
    ) {
        self.action = action
        self.tenant = tenant
        self.actor = actor
        self.device = device
        self.refused = refused
        self.detail = detail
    }
}

/// One line of the audit file before its hash: what the hash covers.
struct AuditRecord: Codable {
    var seq: UInt64
    var ts: Millis
    var action: String
    var tenant: String?
    var actor: String?
    var device: String?
    var outcome: String
    var code: String?
    var detail: [String: String]?
    /// The hash of the previous record (hex), or 64 zeros for the first.
    var prev: String

    static let genesis = String(repeating: "0", count: 64)
}

extension AuditRecord {
    /// The record `FlatJSON` read (what `Codable` would decode); nil if a field is missing or of another type.
    init?(fields: [String: FlatJSON.Value]) {
        guard case .integer(let seq)? = fields["seq"], seq >= 0, case .integer(let ts)? = fields["ts"],
              case .string(let action)? = fields["action"], case .string(let outcome)? = fields["outcome"],
              case .string(let prev)? = fields["prev"]
        else { return nil }
        guard let tenant = fields.optionalString("tenant"), let actor = fields.optionalString("actor"),
              let device = fields.optionalString("device"), let code = fields.optionalString("code")
        else { return nil }
        var detail: [String: String]?
        switch fields["detail"] {
        case nil: detail = nil
        case .object(let object)?: detail = object
        default: return nil
        }
        self.init(seq: UInt64(seq), ts: ts, action: action, tenant: tenant, actor: actor, device: device,
                  outcome: outcome, code: code, detail: detail, prev: prev)
    }
}

extension AuditRecord: JSONWritable {
    /// The fields in sorted key order; absent optionals are left out.
    func writeFields(to writer: inout JSONWriter) {
        writer.field("action", action)
        writer.field("actor", ifPresent: actor)
        writer.field("code", ifPresent: code)
        if let detail { writer.field("detail", sorted: detail) }
        writer.field("device", ifPresent: device)
        writer.field("outcome", outcome)
        writer.field("prev", prev)
        writer.field("seq", seq)
        writer.field("tenant", ifPresent: tenant)
        writer.field("ts", ts)
    }
}
