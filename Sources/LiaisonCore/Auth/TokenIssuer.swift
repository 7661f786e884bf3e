import Foundation
import JWTKit

/// Mints HS256 access tokens (for `liaison token`, the dev console and tests).
public enum TokenIssuer {
    public static func token(secret: String, claims: TokenClaims) async throws -> String {
        let keys = await JWTKeyCollection().add(hmac: HMACSecret.key(secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }
}
