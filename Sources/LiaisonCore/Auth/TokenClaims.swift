import Foundation
import JWTKit

/// The claims of a Liaison access token.
public struct TokenClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var role: Role
    public var tenant: String
    public var name: String?
    public var areas: [String]?
    public var exp: ExpirationClaim

    public init(sub: String, role: Role, tenant: String, name: String?, areas: [String]?, expires: Date) {
        self.sub = SubjectClaim(value: sub)
        self.role = role
        self.tenant = tenant
        self.name = name
        self.areas = areas
        self.exp = ExpirationClaim(value: Date(timeIntervalSince1970: expires.timeIntervalSince1970.rounded(.down)))
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard !sub.value.isEmpty, !tenant.isEmpty else {
            throw JWTError.claimVerificationFailure(failedClaim: sub, reason: "sub and tenant must not be empty")
        }
    }

    /// The user this token speaks for.
    public var record: UserRecord {
        UserRecord(tenant: tenant, user: sub.value, role: role, name: name ?? sub.value, areas: areas ?? [])
    }
}
