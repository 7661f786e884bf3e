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

    @Test func aMessageReachesTheOtherMemberAfterItsDurableOk() async throws {
        let harness = try await ServerHarness()
        let msl = try await harness.connect("alice", role: .msl)
        let hcp = try await harness.connect("bob", role: .hcp)
        let room = try await msl.request("room.create", ["kind": "direct", "members": ["bob"]]).get()["room"]?.string ?? ""
        let sent = try await msl.request("msg.send", ["room": .string(room), "body": "hello", "client_msg_id": "c1"]).get()
        #expect(sent["seq"]?.int == 1)
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
