import ArgumentParser
import LiaisonCore
import LiaisonServer

/// `serve`'s flags for tokens signed by an identity provider (Okta, Entra ID, Keycloak): where its keys
/// are, what its tokens must say, and which claims hold the user. See docs/IDENTITY.md.
struct IdentityProviderOptions: ParsableArguments {
    @Option(help: "The identity provider's JWKS URL; its keys verify RS256/ES256 tokens (LIAISON_JWKS_URL).") var jwksUrl: String?
    @Option(help: "Seconds between JWKS fetches; a token naming an unknown key also fetches, at most every 10 s (LIAISON_JWKS_REFRESH; default 600).") var jwksRefresh: Double?
    @Option(help: "The iss identity-provider tokens must carry (LIAISON_JWT_ISSUER; default: not checked).") var jwtIssuer: String?
    @Option(help: "A value identity-provider tokens' aud must hold (LIAISON_JWT_AUDIENCE; default: not checked).") var jwtAudience: String?
    @Option(help: "Claim holding the user id (LIAISON_CLAIM_USER; default sub). Dotted names reach into objects.") var claimUser: String?
    @Option(help: "Claim holding the role, a string or an array such as realm_access.roles (LIAISON_CLAIM_ROLE; default role).") var claimRole: String?
    @Option(help: "Claim holding the tenant (LIAISON_CLAIM_TENANT; default tenant).") var claimTenant: String?
    @Option(help: "Claim holding the display name (LIAISON_CLAIM_NAME; default name).") var claimName: String?
    @Option(help: "Claim holding the areas, an array (LIAISON_CLAIM_AREAS; default areas).") var claimAreas: String?

    /// Applies these flags (or their LIAISON_ variables) to `server`.
    func apply(to server: inout ServerConfiguration) throws {
        server.jwksURL = try Environment.resolve(jwksUrl, "jwks-url", nil) { $0 }
        if let url = server.jwksURL, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            throw ValidationError("--jwks-url must be an http(s) URL")
        }
        server.jwksRefresh = try Environment.resolve(jwksRefresh, "jwks-refresh", 600) { Double($0) }
        guard server.jwksRefresh >= 1 else { throw ValidationError("--jwks-refresh must be at least 1 second") }
        var rules = IdentityProviderRules(
            issuer: try Environment.resolve(jwtIssuer, "jwt-issuer", nil) { $0 },
            audience: try Environment.resolve(jwtAudience, "jwt-audience", nil) { $0 })
        rules.userClaim = try Environment.resolve(claimUser, "claim-user", rules.userClaim) { $0 }
        rules.roleClaim = try Environment.resolve(claimRole, "claim-role", rules.roleClaim) { $0 }
        rules.tenantClaim = try Environment.resolve(claimTenant, "claim-tenant", rules.tenantClaim) { $0 }
        rules.nameClaim = try Environment.resolve(claimName, "claim-name", rules.nameClaim) { $0 }
        rules.areasClaim = try Environment.resolve(claimAreas, "claim-areas", rules.areasClaim) { $0 }
        for claim in [rules.userClaim, rules.roleClaim, rules.tenantClaim, rules.nameClaim, rules.areasClaim] where claim.isEmpty {
            throw ValidationError("a --claim-… name must not be empty")
        }
        server.identityProvider = rules
    }
}
