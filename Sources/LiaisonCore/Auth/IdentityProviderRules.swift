/// What a token from the identity provider must say, and where its claims keep the user's identity.
///
/// Claim names may be dotted paths into nested objects (Keycloak keeps realm roles in
/// `realm_access.roles`). A role claim may be a string or an array; the first Liaison role in it counts.
public struct IdentityProviderRules: Sendable, Equatable {
    /// The `iss` every token must carry; nil accepts any issuer.
    public var issuer: String?
    /// A value the token's `aud` (a string or an array) must hold; nil skips the check.
    public var audience: String?
    public var userClaim = "sub"
    public var roleClaim = "role"
    public var tenantClaim = "tenant"
    public var nameClaim = "name"
    public var areasClaim = "areas"

    public init(issuer: String? = nil, audience: String? = nil) {
        self.issuer = issuer
        self.audience = audience
    }

    /// The user a verified token speaks for, or `unauthorized` saying which check failed.
    public func record(from claims: [String: JSONValue]) throws(ProtocolError) -> UserRecord {
        if let issuer, Self.strings(claims["iss"]) != [issuer] {
            throw ProtocolError(.unauthorized, "token rejected: wrong issuer")
        }
        if let audience, !Self.strings(claims["aud"]).contains(audience) {
            throw ProtocolError(.unauthorized, "token rejected: wrong audience")
        }
        guard let user = Self.strings(Self.value(at: userClaim, in: claims)).first, !user.isEmpty else {
            throw Self.missing(userClaim)
        }
        guard let tenant = Self.strings(Self.value(at: tenantClaim, in: claims)).first, !tenant.isEmpty else {
            throw Self.missing(tenantClaim)
        }
        guard let role = Self.strings(Self.value(at: roleClaim, in: claims)).lazy.compactMap(Role.init(rawValue:)).first else {
            throw ProtocolError(.unauthorized,
                                "token rejected: claim '\(roleClaim)' holds no Liaison role (hcp, msl, fmd, admin)")
        }
        let name = Self.strings(Self.value(at: nameClaim, in: claims)).first.flatMap { $0.isEmpty ? nil : $0 }
        return UserRecord(tenant: tenant, user: user, role: role, name: name ?? user,
                          areas: Self.strings(Self.value(at: areasClaim, in: claims)))
    }

    private static func missing(_ claim: String) -> ProtocolError {
        ProtocolError(.unauthorized, "token rejected: claim '\(claim)' is missing or empty")
    }

    /// The value at a dotted path (`realm_access.roles`); a claim whose own name holds dots wins.
    static func value(at path: String, in claims: [String: JSONValue]) -> JSONValue? {
        if let direct = claims[path] { return direct }
        var current = JSONValue.object(claims)
        for key in path.split(separator: ".") {
            guard case .object(let object) = current, let next = object[String(key)] else { return nil }
            current = next
        }
        return current
    }

    /// A string claim as one value, an array claim as its strings.
    static func strings(_ value: JSONValue?) -> [String] {
        switch value {
        case .string(let text): [text]
        case .array(let items): items.compactMap { if case .string(let text) = $0 { text } else { nil } }
        default: []
        }
    }
}
