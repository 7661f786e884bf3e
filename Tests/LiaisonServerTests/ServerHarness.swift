import Foundation
import LiaisonClient
import LiaisonCore
import LiaisonServer
import Prometheus

/// A real server on an ephemeral loopback port with a fresh data directory, and a client engine.
final class ServerHarness: Sendable {
    static let secret = "integration-secret"

    let server: LiaisonServer
    let engine: ClientEngine
    let dataDirectory: URL
    private let running: Task<Void, Never>

    init(configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-it-\(UUID().uuidString)")
        var configuration = ServerConfiguration(jwtSecret: Self.secret)
        configuration.port = 0
        configuration.tlsPort = 0
        configuration.dataDirectory = dataDirectory
        configuration.hub.rateLimit = 10_000
        configure(&configuration)
        server = try await LiaisonServer(configuration: configuration, metrics: PrometheusCollectorRegistry())
        let server = server
        running = Task { await server.run() }
        engine = try ClientEngine(options: EngineOptions(libwebsocketsLogging: false))
    }

    /// A connected, synced client for `user`.
    func connect(_ user: String, role: Role, tenant: String = "acme", areas: [String] = [], device: String = "d1")
        async throws -> ClientConnection
    {
        let connection = try await engine.connect(ConnectOptions(host: "127.0.0.1", port: server.port))
        let claims = TokenClaims(sub: user, role: role, tenant: tenant, name: user.capitalized, areas: areas,
                                 expires: Date().addingTimeInterval(600))
        _ = try await connection.hello(token: try TokenIssuer.token(secret: Self.secret, claims: claims), device: device)
        try await connection.synced()
        return connection
    }

    func stop() async {
        engine.shutdown()
        server.stop()
        await running.value
        try? FileManager.default.removeItem(at: dataDirectory)
    }
}

extension ClientConnection {
    /// The next event of `type`, skipping others, within `timeout`.
    func next(_ type: String, timeout: Duration = .seconds(5)) async -> JSON? {
        await withTaskGroup(of: JSON?.self) { group in
            group.addTask {
                for await event in self.events where event["type"]?.string == type { return event }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
