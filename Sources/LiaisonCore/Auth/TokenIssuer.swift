import Crypto
import Foundation

/// Mints HS256 access tokens (for `liaison token`, the dev console and tests). Verification stays with
/// jwt-kit (`TokenVerifier`); minting is the plain JWS compact form, synchronous so HTTP can use it.
public enum TokenIssuer {
    public static func token(secret: String, claims: TokenClaims) throws -> String {
        let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let payload = base64URL(try encoder.encode(claims))
        let signingInput = "\(header).\(payload)"
        let signature = HMAC<SHA256>.authenticationCode(
            for: Data(signingInput.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "\(signingInput).\(base64URL(Data(signature)))"
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
