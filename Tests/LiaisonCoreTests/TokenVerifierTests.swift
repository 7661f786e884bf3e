import Crypto
import Foundation
import Testing
@testable import LiaisonCore

/// HS256 access tokens: minted by `TokenIssuer`, checked by `TokenVerifier`.
@Suite struct TokenVerifierTests {
    let secret = "a-server-secret-of-at-least-32-bytes!"

    func claims(expires: Date = Date().addingTimeInterval(3_600), sub: String = "u1", tenant: String = "t1") -> TokenClaims {
        TokenClaims(sub: sub, role: .msl, tenant: tenant, name: "Una", areas: ["oncology"], expires: expires)
    }

    func base64URL(_ data: some Sequence<UInt8>) -> String {
        Data(data).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func payloadJSON(exp: Date = Date().addingTimeInterval(3_600)) -> String {
        #"{"sub":"u1","role":"hcp","tenant":"t1","name":"Hal","areas":[],"exp":\#(Int(exp.timeIntervalSince1970))}"#
    }

    /// The error `verify` throws, or nil when it verifies.
    func refusal(_ verifier: TokenVerifier, _ token: String) async -> ProtocolError? {
        do {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            return error
        }
    }

    @Test func mintedTokenVerifies() async throws {
        let minted = claims()
        let token = try TokenIssuer.token(secret: secret, claims: minted)
        let verified = try await TokenVerifier(secret: secret).verify(token)
        #expect(verified == UserRecord(tenant: "t1", user: "u1", role: .msl, name: "Una", areas: ["oncology"]))
    }

    @Test func recordDefaultsNameToSubAndAreasToEmpty() async throws {
        let token = try TokenIssuer.token(secret: secret, claims: TokenClaims(
            sub: "u2", role: .hcp, tenant: "t1", name: nil, areas: nil, expires: Date().addingTimeInterval(60)))
        let verified = try await TokenVerifier(secret: secret).verify(token)
        #expect(verified == UserRecord(tenant: "t1", user: "u2", role: .hcp, name: "u2", areas: []))
    }

    @Test func wrongSecretIsUnauthorized() async throws {
        let token = try TokenIssuer.token(secret: secret, claims: claims())
        let error = await refusal(try await TokenVerifier(secret: "another-secret-entirely-32-bytes!!"), token)
        #expect(error?.code == .unauthorized)
    }

    @Test func expiredTokenIsUnauthorized() async throws {
        let token = try TokenIssuer.token(secret: secret, claims: claims(expires: Date().addingTimeInterval(-60)))
        let error = await refusal(try await TokenVerifier(secret: secret), token)
        #expect(error?.code == .unauthorized)
    }

    @Test func emptySubjectIsUnauthorized() async throws {
        let token = try TokenIssuer.token(secret: secret, claims: claims(sub: ""))
        let error = await refusal(try await TokenVerifier(secret: secret), token)
        #expect(error?.code == .unauthorized)
    }

    @Test func emptyTenantIsUnauthorized() async throws {
        let token = try TokenIssuer.token(secret: secret, claims: claims(tenant: ""))
        let error = await refusal(try await TokenVerifier(secret: secret), token)
        #expect(error?.code == .unauthorized)
    }

    @Test func shortSecretWorks() async throws {
        let token = try TokenIssuer.token(secret: "s3", claims: claims())
        let verified = try await TokenVerifier(secret: "s3").verify(token)
        #expect(verified.user == "u1")
    }

    @Test func shortSecretRejectsAnotherShortSecret() async throws {
        let token = try TokenIssuer.token(secret: "s3", claims: claims())
        let error = await refusal(try await TokenVerifier(secret: "s4"), token)
        #expect(error?.code == .unauthorized)
    }

    /// A token signed elsewhere with the plain short secret (no padding) verifies: HMAC pads the key itself.
    @Test func tokenSignedElsewhereWithAShortSecretVerifies() async throws {
        let signingInput = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + base64URL(Data(payloadJSON().utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: Data("s3".utf8)))
        let token = signingInput + "." + base64URL(Data(mac))
        let verified = try await TokenVerifier(secret: "s3").verify(token)
        #expect(verified.user == "u1")
        #expect(verified.role == .hcp)
    }

    @Test func algNoneTokenIsUnauthorized() async throws {
        let header = base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let token = header + "." + base64URL(Data(payloadJSON().utf8)) + "."
        let error = await refusal(try await TokenVerifier(secret: secret), token)
        #expect(error?.code == .unauthorized)
    }

    @Test func algNoneTokenIsUnauthorizedWhenAPublicKeyIsConfigured() async throws {
        let pem = P256.Signing.PrivateKey().publicKey.pemRepresentation
        let header = base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let token = header + "." + base64URL(Data(payloadJSON().utf8)) + "."
        let error = await refusal(try await TokenVerifier(secret: secret, publicKeyPEM: pem), token)
        #expect(error?.code == .unauthorized)
    }

    @Test func hs256HeaderWithEmptySignatureIsUnauthorized() async throws {
        let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let token = header + "." + base64URL(Data(payloadJSON().utf8)) + "."
        let error = await refusal(try await TokenVerifier(secret: secret), token)
        #expect(error?.code == .unauthorized)
    }

    @Test func tamperedPayloadIsUnauthorized() async throws {
        let token = try TokenIssuer.token(secret: secret, claims: claims())
        var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        parts[1] = base64URL(Data(payloadJSON().utf8))  // role hcp instead of msl, same signature
        let error = await refusal(try await TokenVerifier(secret: secret), parts.joined(separator: "."))
        #expect(error?.code == .unauthorized)
    }

    @Test func garbageIsUnauthorized() async throws {
        let verifier = try await TokenVerifier(secret: secret)
        for token in ["", "not-a-jwt", "a.b.c", "...."] {
            #expect(await refusal(verifier, token)?.code == .unauthorized, "\(token)")
        }
    }

    @Test func es256TokenVerifiesWithTheConfiguredPublicKey() async throws {
        let key = P256.Signing.PrivateKey()
        let signingInput = base64URL(Data(#"{"alg":"ES256","typ":"JWT"}"#.utf8)) + "." + base64URL(Data(payloadJSON().utf8))
        let signature = try key.signature(for: Data(signingInput.utf8))
        let token = signingInput + "." + base64URL(signature.rawRepresentation)
        let verifier = try await TokenVerifier(secret: secret, publicKeyPEM: key.publicKey.pemRepresentation)
        #expect(try await verifier.verify(token).user == "u1")
        // Without the public key, the same token is not accepted.
        #expect(await refusal(try await TokenVerifier(secret: secret), token)?.code == .unauthorized)
    }
}
