import Foundation
import JWTKit

/// Verifies access tokens: HS256 with the server's secret (the server's own tokens, `TokenClaims`), and
/// RS256/ES256 tokens of an identity provider — signed by a configured public key or by a key of the
/// provider's JWKS — checked against `IdentityProviderRules` (issuer, audience, claim mapping).
public struct TokenVerifier: Sendable {
    private let hmacKeys: JWTKeyCollection
    private let publicKeys: JWTKeyCollection?
    private let jwks: IdentityProviderKeys?
    private let rules: IdentityProviderRules

    /// - Parameters:
    ///   - secret: the HS256 shared secret.
    ///   - publicKeyPEM: an RSA or EC (P-256) public key in PEM, for RS256/ES256 tokens.
    ///   - jwks: the identity provider's key set, for RS256/ES256 tokens (tried before `publicKeyPEM`'s key).
    ///   - rules: what identity-provider tokens must say, and where their claims are.
    public init(secret: String, publicKeyPEM: String? = nil, jwks: IdentityProviderKeys? = nil,
                rules: IdentityProviderRules = IdentityProviderRules()) async throws {
        hmacKeys = await JWTKeyCollection().add(hmac: HMACSecret.key(secret), digestAlgorithm: .sha256)
        if let pem = publicKeyPEM {
            if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                publicKeys = await JWTKeyCollection().add(rsa: rsa, digestAlgorithm: .sha256)
            } else {
                publicKeys = await JWTKeyCollection().add(ecdsa: try ES256PublicKey(pem: pem))
            }
        } else {
            publicKeys = nil
        }
        self.jwks = jwks
        self.rules = rules
    }

    /// The user a valid token speaks for, or `unauthorized` with the reason.
    public func verify(_ token: String) async throws(ProtocolError) -> UserRecord {
        let header = Self.header(of: token)
        do {
            if header?.alg == "HS256" {
                return try await hmacKeys.verify(token, as: TokenClaims.self).record
            }
            let claims: IdentityProviderClaims
            if let jwks, publicKeys == nil || header?.kid != nil {
                claims = try await jwks.verify(token, keyID: header?.kid)
            } else if let publicKeys {
                claims = try await publicKeys.verify(token, as: IdentityProviderClaims.self)
            } else {
                throw ProtocolError(.unauthorized, "token is not signed with an accepted algorithm")
            }
            return try rules.record(from: claims.all)
        } catch let error as ProtocolError {
            throw error
        } catch let error as JWTError {
            throw ProtocolError(.unauthorized, Self.reason(error))
        } catch {
            throw ProtocolError(.unauthorized, "token rejected: malformed token")
        }
    }

    /// Why a token was refused, in words a user can act on.
    static func reason(_ error: JWTError) -> String {
        switch error.errorType {
        case .claimVerificationFailure where error.failedClaim is ExpirationClaim:
            "token expired"
        case .claimVerificationFailure:
            "token rejected: \(error.reason ?? "a claim is invalid")"
        case .signatureVerificationFailed:
            "token rejected: bad signature"
        case .unknownKID, .missingKIDHeader:
            "token rejected: unknown key"
        default:
            "token rejected: malformed token or missing claims"
        }
    }

    /// The `alg` and `kid` of a token's header, read to pick the keys; nothing in it is trusted.
    static func header(of token: String) -> (alg: String?, kid: String?)? {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first,
              let data = Data(base64URLEncoded: String(header)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["alg"] as? String, object["kid"] as? String)
    }
}

extension Data {
    /// Decodes unpadded base64url, as used in JWTs.
    init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }
}
