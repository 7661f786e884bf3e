/// Where an identity provider's signing keys come from: the raw JSON Web Key Set document
/// (over HTTPS from its `jwks_uri` in the server; from memory in tests).
public protocol JWKSSource: Sendable {
    func fetchJWKS() async throws -> [UInt8]
}
