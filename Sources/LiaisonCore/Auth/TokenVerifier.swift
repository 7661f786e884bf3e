import Foundation
import JWTKit

/// Verifies access tokens: HS256 with the server's secret, and RS256/ES256 with a configured public key.
public struct TokenVerifier: Sendable {
    private let hmacKeys: JWTKeyCollection
    private let publicKeys: JWTKeyCollection?

    /// - Parameters:
    ///   - secret: the HS256 shared secret.
    ///   - publicKeyPEM: an RSA or EC (P-256) public key in PEM, for RS256/ES256 tokens.
    public init(secret: String, publicKeyPEM: String? = nil) async throws {
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
    }

    /// The verified claims, or `unauthorized` with the reason.
    public func verify(_ token: String) async throws(ProtocolError) -> TokenClaims {
        let keys = Self.algorithm(of: token) == "HS256" ? hmacKeys : publicKeys
        guard let keys else {
            throw ProtocolError(.unauthorized, "token is not signed with an accepted algorithm")
        }
        do {
            return try await keys.verify(token, as: TokenClaims.self)
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

    /// The `alg` of a token's header, without trusting anything else in it.
    static func algorithm(of token: String) -> String? {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first,
              let data = Data(base64URLEncoded: String(header)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["alg"] as? String
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
