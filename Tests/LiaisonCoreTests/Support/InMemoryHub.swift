import Foundation
import Synchronization
@testable import LiaisonCore

/// A `Transport` that hands every frame to an `InMemoryPeer` at once.
final class InMemoryTransport: Transport {
    let backlogLimit = 4 << 20

    func send(_ frame: OutboundFrame, to peers: [any Peer]) {
        for case let peer as InMemoryPeer in peers { peer.receive(frame.payload) }
    }

    func close(_ peer: any Peer, code: CloseCode, reason: String) {
        (peer as? InMemoryPeer)?.closed(code)
    }

    func backlog(of peer: any Peer) -> Int { 0 }
}

/// A client of a `Hub` without sockets: it owns its session as a connection does, sends JSON requests
/// and waits for their replies.
final class InMemoryPeer: Peer {
    private let frames = ReceivedFrames()
    private let closeCode = Mutex<CloseCode?>(nil)
    private let nextID = Atomic<Int>(0)
    let session: Session

    /// Connects to `hub` (the session starts, awaiting `hello`).
    init(hub: Hub) {
        session = hub.makeSession()
        session.start(peer: self)
    }

    fileprivate func receive(_ payload: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: payload) as? [String: Any] else { return }
        frames.append(object)
    }

    fileprivate func closed(_ code: CloseCode) {
        closeCode.withLock { $0 = code }
        session.disconnected()
    }

    /// Sends a request and returns its id.
    func send(_ type: String, _ fields: [String: Any] = [:]) -> String {
        let id = "q\(nextID.wrappingAdd(1, ordering: .relaxed).newValue)"
        var request = fields
        request["type"] = type
        request["id"] = id
        session.receive(text: try! JSONSerialization.data(withJSONObject: request))
        return id
    }

    /// The reply to request `id` (`ok` or `error`), waited for up to `seconds`.
    func reply(to id: String, seconds: Double = 10) async -> [String: Any]? {
        await first(seconds: seconds) { $0["id"] as? String == id }
    }

    /// Sends a request and waits for its reply.
    func request(_ type: String, _ fields: [String: Any] = [:]) async -> [String: Any]? {
        await reply(to: send(type, fields))
    }

    /// The first frame received that matches, waited for up to `seconds`.
    func first(seconds: Double = 10, where match: ([String: Any]) -> Bool) async -> [String: Any]? {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let found = frames.first(where: match) { return found }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    /// Authenticates as `user` and waits for `synced`.
    func hello(_ user: String, role: Role, tenant: String = "acme", areas: [String] = [], device: String = "d1",
               secret: String) async -> Bool {
        let claims = TokenClaims(sub: user, role: role, tenant: tenant, name: user.capitalized, areas: areas,
                                 expires: Date().addingTimeInterval(600))
        let reply = await request("hello", ["token": try! TokenIssuer.token(secret: secret, claims: claims), "device": device])
        guard reply?["type"] as? String == "ok" else { return false }
        return await first { $0["type"] as? String == "synced" } != nil
    }

    /// Disconnects, as a closed socket does.
    func disconnect() {
        session.disconnected()
    }
}

extension Hub {
    static let testSecret = "in-memory-test-secret"

    /// A hub over `fileSystem` with an in-memory transport, its data under `/data`.
    static func inMemory(on fileSystem: any FileSystem, configure: (inout HubConfiguration) -> Void = { _ in })
        async throws -> Hub
    {
        var configuration = HubConfiguration()
        configuration.rateLimit = 100_000
        configuration.presenceGrace = 0.05
        configure(&configuration)
        return try Hub(configuration: configuration, dataDirectory: URL(fileURLWithPath: "/data"),
                       verifier: try await TokenVerifier(secret: testSecret), transport: InMemoryTransport(),
                       fileSystem: fileSystem)
    }
}

/// The JSON objects a peer received, in order (JSON objects are not `Sendable`: a lock guards them).
private final class ReceivedFrames: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [[String: Any]] = []

    func append(_ frame: [String: Any]) {
        lock.withLock { frames.append(frame) }
    }

    func first(where match: ([String: Any]) -> Bool) -> [String: Any]? {
        lock.withLock { frames.first(where: match) }
    }
}
