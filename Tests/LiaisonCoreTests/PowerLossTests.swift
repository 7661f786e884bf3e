import Foundation
import Synchronization
import Testing
@testable import LiaisonCore

/// Power cut at every step of a scripted workload (sends, snapshots, segment rotation, MOD claims,
/// user.put): after each, a restart finds every acknowledged message, user and MOD outcome, and nothing
/// half-applied. The file system keeps only what was synced (see `SimulatedFileSystem`).
@Suite(.serialized) struct PowerLossTests {
    /// What the workload saw acknowledged, each with the number of file-system steps taken by then.
    final class Acknowledged: Sendable {
        struct Message: Sendable {
            let seq: Int
            let body: String
            let step: Int
        }

        private struct State {
            var room: (id: String, step: Int)?
            var messages: [Message] = []
            var users: [(user: String, step: Int)] = []
            var request: String?
            var winner: (user: String, step: Int)?
            var lostClaimStep: Int?
        }

        private let state = Mutex(State())

        func room(_ id: String, step: Int) { state.withLock { $0.room = (id, step) } }
        func message(_ message: Message) { state.withLock { $0.messages.append(message) } }
        func user(_ user: String, step: Int) { state.withLock { $0.users.append((user, step)) } }
        func request(_ id: String) { state.withLock { $0.request = id } }
        func won(by user: String, step: Int) { state.withLock { $0.winner = (user, step) } }
        func lost(step: Int) { state.withLock { $0.lostClaimStep = min($0.lostClaimStep ?? .max, step) } }

        var roomID: String? { state.withLock { $0.room?.id } }
        var requestID: String? { state.withLock { $0.request } }

        /// What was acknowledged before step `cut` (so made durable by a step before it).
        func before(_ cut: Int) -> (room: String?, messages: [Message], users: [String], winner: String?, claimDecided: Bool) {
            state.withLock { state in
                (state.room.flatMap { $0.step < cut ? $0.id : nil },
                 state.messages.filter { $0.step < cut },
                 state.users.filter { $0.step < cut }.map(\.user),
                 state.winner.flatMap { $0.step < cut ? $0.user : nil },
                 (state.winner.map { $0.step < cut } ?? false) || (state.lostClaimStep.map { $0 < cut } ?? false))
            }
        }
    }

    static let experts = ["fmd1", "fmd2", "fmd3"]

    /// Rooms keep one archived message in memory, so a restart relies on the archive's resend index
    /// (not on messages read back) to recognise a resend.
    static func archiveOnly(_ configuration: inout HubConfiguration) {
        configuration.roomMemoryMessages = 1
    }

    /// The scripted workload; records what it saw acknowledged.
    func runWorkload(on fileSystem: SimulatedFileSystem, acknowledged: Acknowledged) async throws {
        let hub = try await Hub.inMemory(on: fileSystem, configure: Self.archiveOnly)
        let secret = Hub.testSecret
        let admin = InMemoryPeer(hub: hub)
        #expect(await admin.hello("ada", role: .admin, secret: secret))
        if await admin.request("user.put", ["user": "dana", "role": "fmd", "name": "Dana", "areas": ["onc"]])?["type"]
            as? String == "ok" { acknowledged.user("dana", step: fileSystem.steps) }

        let alice = InMemoryPeer(hub: hub)
        let bob = InMemoryPeer(hub: hub)
        #expect(await alice.hello("alice", role: .msl, secret: secret))
        #expect(await bob.hello("bob", role: .hcp, secret: secret))
        let created = await alice.request("room.create", ["kind": "group", "members": ["bob"], "title": "T"])
        let room = try #require((created?["result"] as? [String: Any])?["room"] as? String ?? created?["room"] as? String)
        acknowledged.room(room, step: fileSystem.steps)

        func send(_ numbers: ClosedRange<Int>) async {
            // Sent together, so the journal commits them in groups.
            let ids = numbers.map { alice.send("msg.send", ["room": room, "body": "m\($0)", "client_msg_id": "c\($0)"]) }
            for (number, id) in zip(numbers, ids) {
                guard let reply = await alice.reply(to: id), reply["type"] as? String == "ok",
                      let seq = reply["seq"] as? Int else { continue }
                acknowledged.message(.init(seq: seq, body: "m\(number)", step: fileSystem.steps))
            }
        }

        await send(1...4)
        // Sends while a snapshot runs land in the segment its rotation opened.
        async let snapshot: Void = hub.snapshot()
        await send(5...6)
        await snapshot

        var experts: [InMemoryPeer] = []
        for user in Self.experts {
            let peer = InMemoryPeer(hub: hub)
            #expect(await peer.hello(user, role: .fmd, areas: ["onc"], secret: secret))
            experts.append(peer)
        }
        let asked = await bob.request("mod.request", ["area": "onc", "question": "Dose?", "mode": "chat"])
        let request = try #require(asked?["request"] as? String)
        acknowledged.request(request)
        let claims = experts.map { $0.send("mod.claim", ["request": request]) }
        for (index, id) in claims.enumerated() {
            guard let reply = await experts[index].reply(to: id) else { continue }
            if reply["type"] as? String == "ok" {
                acknowledged.won(by: Self.experts[index], step: fileSystem.steps)
            } else if reply["code"] as? String == "already_claimed" {
                acknowledged.lost(step: fileSystem.steps)
            }
        }
        _ = await bob.request("msg.ack", ["room": room, "seq": 3])
        await send(7...9)
        await hub.snapshot()
        await send(10...11)
        await hub.close()
    }

    /// Restarts on the crash image and checks that everything acknowledged before step `cut` is there.
    func checkRecovery(from image: SimulatedFileSystem.Image, cut: Int, acknowledged: Acknowledged) async throws {
        let expected = acknowledged.before(cut)
        let hub = try await Hub.inMemory(on: SimulatedFileSystem(from: image), configure: Self.archiveOnly)
        for user in expected.users {
            #expect(hub.directory.lookup(UserKey(tenant: "acme", user: user)) != nil, "cut \(cut): user \(user) lost")
        }
        if let roomID = expected.room ?? acknowledged.roomID, let room = try? hub.rooms.room(roomID, tenant: "acme") {
            let messages = try await room.unacked(user: "alice", after: 0, limit: 1000)
            #expect(messages.map(\.seq) == messages.indices.map { UInt64($0 + 1) }, "cut \(cut): seqs not gapless")
            let bodies = messages.map { String(decoding: $0.frame.payload, as: UTF8.self) }
            for message in expected.messages {
                #expect(messages.count >= message.seq && bodies[message.seq - 1].contains("\"body\":\"\(message.body)\""),
                        "cut \(cut): acknowledged message \(message.body) (seq \(message.seq)) lost")
            }
            let clientIDs = messages.compactMap(\.clientMsgID)
            #expect(Set(clientIDs).count == clientIDs.count, "cut \(cut): a message was stored twice")
            // A resend of an acknowledged message after the restart is recognised, not stored again.
            let alice = InMemoryPeer(hub: hub)
            #expect(await alice.hello("alice", role: .msl, secret: Hub.testSecret))
            for message in expected.messages {
                let number = message.body.dropFirst()
                let reply = await alice.request("msg.send", ["room": roomID, "body": message.body, "client_msg_id": "c\(number)"])
                #expect(reply?["seq"] as? Int == message.seq, "cut \(cut): resend of \(message.body) got \(reply ?? [:])")
            }
        } else {
            #expect(expected.room == nil, "cut \(cut): acknowledged room lost")
        }
        if expected.claimDecided, let request = acknowledged.requestID {
            await hub.mod.resumeAfterStart()
            let late = InMemoryPeer(hub: hub)
            #expect(await late.hello("fmd9", role: .fmd, areas: ["onc"], secret: Hub.testSecret))
            let reply = await late.request("mod.claim", ["request": request])
            #expect(reply?["code"] as? String == "already_claimed", "cut \(cut): a decided claim was undone: \(reply ?? [:])")
            let modRooms = hub.rooms.rooms(of: UserKey(tenant: "acme", user: "bob")).filter { $0.kind == .mod }
            #expect(modRooms.count == 1, "cut \(cut): \(modRooms.count) MOD rooms after recovery")
            if let winner = expected.winner, let modRoom = modRooms.first {
                #expect(await modRoom.isMember(winner), "cut \(cut): the acknowledged winner \(winner) is not in the MOD room")
            }
        }
        await hub.close()
    }

    @Test func everyAcknowledgedChangeSurvivesAPowerCutAtEveryStep() async throws {
        // Room syncs take a little time, so the sends made during a snapshot are journaled while it runs.
        let uncut = SimulatedFileSystem(slowPrefix: "/data/rooms", slowSync: 0.003)
        let full = Acknowledged()
        try await runWorkload(on: uncut, acknowledged: full)
        let steps = uncut.steps
        print("power-loss workload: \(steps) file-system steps, each a cut point")
        #expect(full.before(.max).messages.count == 11)
        #expect(steps > 100)
        for cut in 1...(steps + 1) {
            let fileSystem = SimulatedFileSystem(cutAt: cut, slowPrefix: "/data/rooms", slowSync: 0.003)
            let acknowledged = Acknowledged()
            try await runWorkload(on: fileSystem, acknowledged: acknowledged)
            try await checkRecovery(from: fileSystem.crashImage, cut: cut, acknowledged: acknowledged)
        }
    }

    @Test func aShutdownDuringASlowSnapshotLosesNothing() async throws {
        let fileSystem = SimulatedFileSystem(slowPrefix: "/data/rooms", slowSync: 0.02)
        let hub = try await Hub.inMemory(on: fileSystem)
        let alice = InMemoryPeer(hub: hub)
        #expect(await alice.hello("alice", role: .msl, secret: Hub.testSecret))
        var rooms: [String] = []
        for index in 0..<4 {
            #expect(await InMemoryPeer(hub: hub).hello("bob\(index)", role: .hcp, secret: Hub.testSecret))
            let created = await alice.request("room.create", ["kind": "group", "members": ["bob\(index)"]])
            rooms.append(try #require(created?["room"] as? String))
        }
        var acknowledged: [(room: String, seq: Int)] = []
        func send(_ count: Int, to rooms: [String]) async {
            for room in rooms {
                for _ in 0..<count {
                    if let seq = await alice.request("msg.send", ["room": room, "body": "x"])?["seq"] as? Int {
                        acknowledged.append((room, seq))
                    }
                }
            }
        }
        await send(5, to: rooms)
        // A periodic snapshot is under way (slowly) when the shutdown comes, as at SIGTERM. Only one room
        // changes meanwhile, so the shutdown's own snapshot writes that room alone: were it to run beside
        // the periodic one, it would drop journal segments the other rooms' unfinished snapshots need.
        let periodic = Task { await hub.snapshot() }
        try await Task.sleep(for: .milliseconds(30))
        await send(3, to: [rooms[0]])
        periodic.cancel()
        await hub.close()
        // The process exits once close() returns: what is durable then is all a restart finds.
        let image = fileSystem.crashImage
        await periodic.value

        let restarted = try await Hub.inMemory(on: SimulatedFileSystem(from: image))
        for (roomID, seq) in acknowledged {
            let room = try restarted.rooms.room(roomID, tenant: "acme")
            let messages = try await room.unacked(user: "alice", after: 0, limit: 100)
            #expect(messages.contains { $0.seq == UInt64(seq) }, "room \(roomID) lost seq \(seq)")
        }
        #expect(acknowledged.count == 23)
        await restarted.close()
    }
}
