import AsyncHTTPClient
import LiaisonCore
import NIOCore

/// Fetches an identity provider's JWKS over HTTP(S) with AsyncHTTPClient's shared client (its own event
/// loops, pooled connections, TLS verified against the system's trust store).
public struct HTTPJWKSSource: JWKSSource {
    /// Why a key set could not be fetched.
    public struct FetchError: Error, CustomStringConvertible {
        public let description: String
    }

    public let url: String
    /// Per fetch, connect to last byte.
    public var timeout: TimeAmount = .seconds(10)
    /// A key set larger than this is refused (a JWKS holds a few keys: a few KiB).
    public var maxBytes = 256 * 1024

    public init(url: String) {
        self.url = url
    }

    public func fetchJWKS() async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        guard response.status == .ok else {
            throw FetchError(description: "GET \(url) answered \(response.status.code)")
        }
        return Array(buffer: try await response.body.collect(upTo: maxBytes))
    }
}
