import Foundation
import LiaisonClient
import LiaisonCore
import Testing

/// The server in-process, driven through the wire by LiaisonClient.
@Suite(.serialized) struct ServerIntegrationTests {
    @Test func helloIsAnsweredWithTheUserAndRole() async throws {
        let harness = try await ServerHarness()
        let client = try await harness.engine.connect(.init(host: "127.0.0.1", port: harness.server.port))
        let claims = TokenClaims(sub: "alice", role: .msl, tenant: "acme", name: "Alice", areas: nil,
                                 expires: Date().addingTimeInterval(60))
        let ok = try await client.hello(token: try TokenIssuer.token(secret: ServerHarness.secret, claims: claims), device: "d1")
        #expect(ok.user == "alice")
        #expect(ok.role == "msl")
        await harness.stop()
    }

    @Test func aClientGivenSeveralServersConnectsToTheFirstThatAccepts() async throws {
        let harness = try await ServerHarness()
        let closedPort = try await { () async throws -> Int in
            let other = try await ServerHarness()
            let port = other.server.port
            await other.stop()
            return port
        }()
        let connection = try await harness.engine.connect(anyOf: [
            ConnectOptions(host: "127.0.0.1", port: closedPort), ConnectOptions(host: "127.0.0.1", port: harness.server.port),
        ])
        let claims = TokenClaims(sub: "alice", role: .msl, tenant: "acme", name: "Alice", areas: [],
                                 expires: Date().addingTimeInterval(600))
        let ok = try await connection.hello(token: try TokenIssuer.token(secret: ServerHarness.secret, claims: claims),
                                            device: "d1")
        #expect(ok.user == "alice")
        await #expect(throws: ClientError.self) {
            try await harness.engine.connect(anyOf: [ConnectOptions(host: "127.0.0.1", port: closedPort)])
        }
        await harness.stop()
    }

    @Test func pushersAreRegisteredListedAndUnregisteredThroughTheClient() async throws {
        let harness = try await ServerHarness { $0.hub.push.gateways = ["main": "http://127.0.0.1:9"] }
        let alice = try await harness.connect("alice", role: .fmd, device: "phone")
        try await alice.registerPusher(gateway: "main", appID: "app", pushkey: "k1", deviceName: "Phone")
        let listed = try await alice.pushers()
        #expect(listed.map(\.pushkey) == ["k1"])
        #expect(listed.first?.device == "phone" && listed.first?.deviceName == "Phone" && listed.first?.lang == nil)
        try await alice.unregisterPusher(appID: "app", pushkey: "k1")
        #expect(try await alice.pushers().isEmpty)
        await #expect(throws: ServerError.self) { try await alice.registerPusher(gateway: "other", appID: "app", pushkey: "k") }
        await harness.stop()
    }

    @Test func presenceChangesReachAWatcher() async throws {
        let harness = try await ServerHarness()
        let alice = try await harness.connect("alice", role: .msl)
        let bob = try await harness.connect("bob", role: .msl)
        let watched = try await bob.request("presence.watch", ["users": ["alice"]]).get()
        #expect(watched["presence"]?[0]?["status"]?.string == "online")
        _ = try await alice.request("presence.set", ["status": "busy"]).get()
        let event = await bob.next("presence")
        #expect(event?["user"]?.string == "alice")
        #expect(event?["status"]?.string == "busy")
        await harness.stop()
    }

    @Test(.timeLimit(.minutes(1))) func aMessageReachesTheOtherMemberAfterItsDurableOk() async throws {
        let harness = try await ServerHarness()
        let msl = try await harness.connect("alice", role: .msl)
        let hcp = try await harness.connect("bob", role: .hcp)
        let room = try await msl.request("room.create", ["kind": "direct", "members": ["bob"]]).get()["room"]?.string ?? ""
        // Sent raw (no reply awaited), so its `ok` arrives on `events` in order with the sender's own copy
        // of the `msg`: on one connection the order is observable, and the ok must come first.
        try msl.send(["type": "msg.send", "id": "raw-send", "room": .string(room), "body": "hello", "client_msg_id": "c1"])
        var seen: [String] = []
        for await event in msl.events {
            if event["id"]?.string == "raw-send" {
                #expect(event["type"]?.string == "ok")
                #expect(event["seq"]?.int == 1)
                seen.append("ok")
            } else if event["type"]?.string == "msg" {
                seen.append("msg")
            }
            if seen.count == 2 { break }
        }
        #expect(seen == ["ok", "msg"])
        let message = await hcp.next("msg")
        #expect(message?["body"]?.string == "hello")
        #expect(message?["seq"]?.int == 1)
        await harness.stop()
    }

    @Test func concurrentClaimsOfAModRequestHaveExactlyOneWinner() async throws {
        let harness = try await ServerHarness()
        var experts: [ClientConnection] = []
        for index in 0..<8 { experts.append(try await harness.connect("fmd\(index)", role: .fmd, areas: ["oncology"])) }
        let hcp = try await harness.connect("hcp", role: .hcp)
        let request = try await hcp.request("mod.request", ["area": "oncology", "question": "Dosing?", "mode": "chat"]).get()
        #expect(request["offered"]?.int == 8)
        let id = request["request"]?.string ?? ""
        let replies = await withTaskGroup(of: Reply?.self) { group in
            for expert in experts { group.addTask { try? await expert.request("mod.claim", ["request": .string(id)]) } }
            var replies: [Reply?] = []
            for await reply in group { replies.append(reply) }
            return replies
        }
        #expect(replies.filter { $0?.isOK == true }.count == 1)
        #expect(replies.filter { $0?.errorCode == "already_claimed" }.count == 7)
        let claimed = await hcp.next("mod.claimed")
        #expect(claimed?["request"]?.string == id)
        await harness.stop()
    }
}

/// Finished sessions leave nothing behind: every session and connection object is freed.
@Suite struct SessionChurnTests {
    /// Weak references to one session and its connection.
    final class Watched: @unchecked Sendable {
        weak var session: Session?
        weak var connection: AnyObject?
        let wasConnected: Bool

        init(_ session: Session) {
            self.session = session
            connection = session.peer
            wasConnected = connection != nil
        }

        var isFreed: Bool { session == nil && connection == nil }
    }

    @Test func thousandsOfFinishedSessionsFreeEverySessionAndConnection() async throws {
        let harness = try await ServerHarness()
        let cycles = 2_000
        let concurrency = 20
        let watched = try await withThrowingTaskGroup(of: [Watched].self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    var watched: [Watched] = []
                    for cycle in stride(from: lane, to: cycles, by: concurrency) {
                        let user = "churn\(cycle)"
                        let client = try await harness.connect(user, role: .msl, device: "phone")
                        for session in try #require(harness.server.hub).registry.sessions(of: UserKey(tenant: "acme", user: user)) {
                            watched.append(Watched(session))
                        }
                        client.close()
                        _ = await client.closed()
                    }
                    return watched
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(watched.count == cycles)
        // Non-vacuous: the references were taken while the objects were alive.
        let capturedConnected = watched.filter(\.wasConnected).count
        #expect(capturedConnected > cycles / 2, "only \(capturedConnected) sessions had their connection when captured")
        let deadline = ContinuousClock.now + .seconds(20)
        while watched.contains(where: { !$0.isFreed }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let leaked = watched.filter { !$0.isFreed }
        #expect(leaked.isEmpty, "\(leaked.count) of \(cycles) finished sessions are still alive")
        await harness.stop()
    }
}
