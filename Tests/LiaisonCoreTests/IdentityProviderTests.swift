import Crypto
import Foundation
import LiaisonSync
import Testing
@testable import LiaisonCore

/// Tokens of an identity provider: keys from its JWKS (rotation, unknown key ids), issuer and
/// audience checks, claims mapped to a Liaison user.
@Suite struct IdentityProviderTests {
    /// A key set served from memory; counts fetches and can be switched or broken.
    final class MemoryJWKS: JWKSSource, @unchecked Sendable {
        private let state = Locked<(keys: [(String, P256.Signing.PrivateKey)], fetches: Int, failing: Bool)>(([], 0, false))
        var fetches: Int { state.withLock { $0.fetches } }
        func publish(_ keys: [(String, P256.Signing.PrivateKey)]) { state.withLock { $0.keys = keys } }
        func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }

        func fetchJWKS() async throws -> [UInt8] {
            let (keys, failing) = state.withLock { state in
                state.fetches += 1
                return (state.keys, state.failing)
            }
            if failing { throw CancellationError() }
            let jwks = keys.map { kid, key in
                let raw = key.publicKey.rawRepresentation
                return ["kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                        "x": base64URL(raw.prefix(32)), "y": base64URL(raw.suffix(32))]
            }
            return Array(try JSONSerialization.data(withJSONObject: ["keys": jwks]))
        }
    }

    static func base64URL(_ data: some Sequence<UInt8>) -> String {
        Data(data).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func token(_ key: P256.Signing.PrivateKey, kid: String?, claims: [String: Any]) throws -> String {
        var header: [String: Any] = ["alg": "ES256", "typ": "JWT"]
        header["kid"] = kid
        let input = base64URL(try JSONSerialization.data(withJSONObject: header)) + "."
            + base64URL(try JSONSerialization.data(withJSONObject: claims))
        return input + "." + base64URL(try key.signature(for: Data(input.utf8)).rawRepresentation)
    }

    static func claims(expiresIn seconds: Double = 3_600, extra: [String: Any] = [:]) -> [String: Any] {
        ["sub": "hana", "role": "fmd", "tenant": "acme", "name": "Dr Hana Ito", "areas": ["cardiology"],
         "exp": Int(Date().timeIntervalSince1970 + seconds)].merging(extra) { $1 }
    }

    let secret = "a-server-secret-of-at-least-32-bytes!"
    let first = P256.Signing.PrivateKey()
    let second = P256.Signing.PrivateKey()

    func verifier(_ source: MemoryJWKS, rules: IdentityProviderRules = IdentityProviderRules(),
                  cooldown: Duration = .seconds(60)) async throws -> TokenVerifier {
        let keys = IdentityProviderKeys(source: source, unknownKeyCooldown: cooldown)
        await keys.refresh()
        return try await TokenVerifier(secret: secret, jwks: keys, rules: rules)
    }

    func refusal(_ verifier: TokenVerifier, _ token: String) async -> String? {
        do {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func tokenSignedByAKeyOfTheSetVerifies() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        let record = try await verifier(source).verify(try Self.token(first, kid: "k1", claims: Self.claims()))
        #expect(record == UserRecord(tenant: "acme", user: "hana", role: .fmd, name: "Dr Hana Ito", areas: ["cardiology"]))
    }

    @Test func rotatedKeyIsFetchedWhenATokenNamesIt() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        let verifier = try await verifier(source)
        source.publish([("k1", first), ("k2", second)])
        let record = try await verifier.verify(try Self.token(second, kid: "k2", claims: Self.claims()))
        #expect(record.user == "hana")
        #expect(source.fetches == 2)
    }

    @Test func unknownKeyIsRefusedAndFetchesAtMostOncePerCooldown() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        let verifier = try await verifier(source)
        for attempt in 0..<5 {
            let message = await refusal(verifier, try Self.token(second, kid: "made-up-\(attempt)", claims: Self.claims()))
            #expect(message == "token rejected: unknown key")
        }
        #expect(source.fetches == 2)
    }

    @Test func tokenWithoutKeyIDIsRefusedAsUnknownKey() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        #expect(await refusal(try await verifier(source), try Self.token(first, kid: nil, claims: Self.claims()))
            == "token rejected: unknown key")
    }

    @Test func tokenSignedByAnotherKeyUnderAKnownIDHasABadSignature() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        #expect(await refusal(try await verifier(source), try Self.token(second, kid: "k1", claims: Self.claims()))
            == "token rejected: bad signature")
    }

    @Test func failedFetchKeepsTheKeysAlreadyKnown() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        let keys = IdentityProviderKeys(source: source, unknownKeyCooldown: .zero)
        await keys.refresh()
        source.fail(true)
        await keys.refresh()
        #expect(await keys.loadedKeyIDs == ["k1"])
        let verifier = try await TokenVerifier(secret: secret, jwks: keys)
        #expect(try await verifier.verify(try Self.token(first, kid: "k1", claims: Self.claims())).user == "hana")
    }

    @Test func expiredTokenSaysExpired() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        #expect(await refusal(try await verifier(source), try Self.token(first, kid: "k1", claims: Self.claims(expiresIn: -60)))
            == "token expired")
    }

    @Test func issuerAndAudienceAreChecked() async throws {
        let source = MemoryJWKS()
        source.publish([("k1", first)])
        let verifier = try await verifier(source, rules: IdentityProviderRules(issuer: "https://idp/realms/acme", audience: "liaison"))
        let good = Self.claims(extra: ["iss": "https://idp/realms/acme", "aud": ["account", "liaison"]])
        #expect(try await verifier.verify(try Self.token(first, kid: "k1", claims: good)).user == "hana")
        let wrongIssuer = Self.claims(extra: ["iss": "https://evil/realms/acme", "aud": "liaison"])
        #expect(await refusal(verifier, try Self.token(first, kid: "k1", claims: wrongIssuer)) == "token rejected: wrong issuer")
        let wrongAudience = Self.claims(extra: ["iss": "https://idp/realms/acme", "aud": "account"])
        #expect(await refusal(verifier, try Self.token(first, kid: "k1", claims: wrongAudience)) == "token rejected: wrong audience")
        let noAudience = Self.claims(extra: ["iss": "https://idp/realms/acme"])
        #expect(await refusal(verifier, try Self.token(first, kid: "k1", claims: noAudience)) == "token rejected: wrong audience")
    }

    @Test func keycloakClaimsMapThroughDottedNamesAndRoleArrays() throws {
        var rules = IdentityProviderRules()
        rules.userClaim = "preferred_username"
        rules.roleClaim = "realm_access.roles"
        rules.tenantClaim = "org"
        let claims: [String: JSONValue] = [
            "sub": .string("f81d4fae-7dec"), "preferred_username": .string("mika"), "org": .string("acme"),
            "name": .string("Mika Laine"),
            "realm_access": .object(["roles": .array([.string("offline_access"), .string("msl"), .string("uma_authorization")])]),
        ]
        #expect(try rules.record(from: claims) == UserRecord(tenant: "acme", user: "mika", role: .msl, name: "Mika Laine", areas: []))
    }

    @Test func missingTenantOrRoleSaysWhichClaim() {
        let rules = IdentityProviderRules()
        #expect(throws: ProtocolError(.unauthorized, "token rejected: claim 'tenant' is missing or empty")) {
            try rules.record(from: ["sub": .string("u"), "role": .string("msl")])
        }
        #expect(throws: ProtocolError(.unauthorized, "token rejected: claim 'role' holds no Liaison role (hcp, msl, fmd, admin)")) {
            try rules.record(from: ["sub": .string("u"), "tenant": .string("t"), "role": .string("superuser")])
        }
    }
}
