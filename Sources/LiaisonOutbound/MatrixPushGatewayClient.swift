import AsyncHTTPClient
import Foundation
import LiaisonCore
import NIOCore

/// Posts notifications to push gateways (Matrix Push Gateway API) with its own AsyncHTTPClient: NIO's
/// event loops (never the lws thread), up to `connectionsPerGateway` pooled keep-alive connections per
/// gateway, TLS verified against the system's trust store. `shutdown()` before the process ends.
public final class MatrixPushGatewayClient: PushGatewayClient {
    /// Per notification, connect to last byte.
    public let timeout: TimeAmount = .seconds(10)
    /// Gateways answer a few bytes; more is not read.
    public let maxAnswerBytes = 64 * 1024
    private let client: HTTPClient

    public init(connectionsPerGateway: Int = 64) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerGateway)
        configuration.timeout = .init(connect: .seconds(5))
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    public func notify(url: String, body: [UInt8]) async -> PushGatewayAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: timeout)
            let answer = try await response.body.collect(upTo: maxAnswerBytes)
            switch response.status.code {
            case 200..<300:
                return .accepted(rejected: Self.rejected(in: Array(buffer: answer)))
            case 429, 500..<600:
                return .retryLater("the gateway answered \(response.status.code)")
            default:
                return .refused("the gateway answered \(response.status.code)")
            }
        } catch {
            return .retryLater("\(error)")
        }
    }

    /// The `rejected` pushkeys of a gateway's answer (none when it has no such list).
    static func rejected(in answer: [UInt8]) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any] else { return [] }
        return object["rejected"] as? [String] ?? []
    }
}
