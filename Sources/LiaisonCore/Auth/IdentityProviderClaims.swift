import Foundation
import JWTKit

/// The claims of a token from an identity provider (Okta, Entra ID, Keycloak), kept whole: which claim
/// holds the role, tenant, name or areas is the operator's `ClaimMapping`, known only after verification.
public struct IdentityProviderClaims: JWTPayload, Equatable {
    public var exp: ExpirationClaim
    public var nbf: NotBeforeClaim?
    public var all: [String: JSONValue]

    private enum TimeKeys: String, CodingKey { case exp, nbf }

    public init(from decoder: any Decoder) throws {
        let times = try decoder.container(keyedBy: TimeKeys.self)
        exp = try times.decode(ExpirationClaim.self, forKey: .exp)
        nbf = try times.decodeIfPresent(NotBeforeClaim.self, forKey: .nbf)
        all = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    public func encode(to encoder: any Encoder) throws {
        try all.encode(to: encoder)
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        // Thirty seconds of leeway for clocks that disagree a little.
        try nbf?.verifyNotBefore(currentDate: Date().addingTimeInterval(30))
    }
}
