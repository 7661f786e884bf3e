/// What a user is on the platform; decides what the policy lets them do.
public enum Role: String, Sendable, Encodable, WireEnum {
    /// Healthcare professional.
    case hcp
    /// Medical Science Liaison.
    case msl
    /// Field Medical Director, the deeper expert who claims MOD requests.
    case fmd
    /// Operations: presence, provisioning, the audit trail; no chat content.
    case admin
}
