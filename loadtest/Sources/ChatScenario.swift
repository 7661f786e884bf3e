import ArgumentParser
import LiaisonClient
import Synchronization

/// `chat`: R group rooms of M members; every member sends into its room, at a rate or as fast as
/// the acks allow with a window of unacknowledged messages.
struct ChatScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "R rooms × M members, every member sending: acked msgs/s, ack latency, end-to-end latency, deliveries/s.",
        discussion: """
            Each member keeps up to --window msg.send requests unacknowledged (an ack is the server's \
            ok, sent once the message is durable), or with --rate sends that many messages per second. \
            End-to-end latency runs from the send to each other member's receipt of the msg event, and \
            to the last member's. Every member checks that each sender's messages arrive once and in order.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Rooms.")
    var rooms = 10

    @Option(name: [.short, .customLong("members")], help: "Members per room (each one sends).")
    var members = 2

    @Option(help: "Unacknowledged messages per sender.")
    var window = 8

    @Option(help: "Messages per second per sender (0: as fast as the window allows).")
    var rate: Double = 0

    @Option(help: "Body bytes of each message.")
    var size = 100

    @Option(help: "More members per room who are not connected: each joins, leaves, and is only a recipient.")
    var offlineMembers = 0

    @Option(help: "Before leaving, each offline member registers a pusher with this gateway (serve --push-gateway NAME=URL).")
    var pushGateway: String?

    @Option(help: "Seconds of sending before measuring starts.")
    var warmup: Double = 1

    @Option(help: "Seconds allowed after the end for messages in flight to be acked and delivered.")
    var drain: Double = 10

    func run() async throws {
        let members = max(2, self.members)
        let rooms = max(1, self.rooms)
        let total = rooms * members
        let engine = try makeEngine(connections: total)
        let counters = Counters()
        let errors = ErrorTally()
        let tracker = MulticastTracker(
            recipients: Array(repeating: members - 1, count: total), window: max(1, window), errors: errors)
        tracker.counters = counters
        let progress = ProgressLine()
        progress.start({ rate in
            "chat: \(counters.opened.load(ordering: .relaxed))/\(total) connections, \(Int(rate)) acks/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)

        var dialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        let prefix = "\(common.userPrefix)-ch"
        dialer.prefix = prefix
        dialer.configure = { index, options in
            options.messageInterceptor = { bytes in
                if let stamp = Stamp.read(bytes) {
                    // The sender's own copy is not a delivery to another member.
                    if Int(stamp.stream) != index {
                        if Int(stamp.stream) / members != index / members { errors.add("message from another room") }
                        tracker.received(stamp, at: index)
                    }
                    return true
                }
                guard let reply = readReply(bytes, prefix: "c") else { return false }
                tracker.replied(sender: index, k: reply.k, errorCode: reply.errorCode, what: "msg.send")
                return true
            }
        }
        let dial = try await openGroup(dialer, count: total, what: "chat")
        let connections = dial.byIndex.map { $0! }
        let offlinePrefix = "\(common.userPrefix)-off"
        let offlineMembers = max(0, self.offlineMembers)
        try await leaveOffline(count: rooms * offlineMembers, engine: engine, prefix: offlinePrefix,
                               counters: counters, errors: errors)

        // Rooms: member 0 of each creates it with the others.
        let roomIDs = try await createGroupRooms(
            count: rooms, creators: (0..<rooms).map { connections[$0 * members] },
            members: { r in
                (1..<members).map { common.user(index: r * members + $0, prefix: prefix) }
                    + (0..<offlineMembers).map { common.user(index: r * offlineMembers + $0, prefix: offlinePrefix) }
            }, what: "chat")
        await sleep(seconds: 0.5)
        let size = self.size
        tracker.send = { s, k, sentAt in
            let room = jsonString(roomIDs[s / members])
            let body = Stamp(stream: UInt64(s), number: k, sentAt: sentAt).text(size: size)
            try? connections[s].sendText(
                #"{"type":"msg.send","id":"c\#(k)","room":\#(room),"body":"\#(body)","client_msg_id":"c\#(k)"}"#)
        }

        let rss = RSSSampler(pid: common.serverPid)
        let window = Window(warmup: warmup, duration: common.duration)
        tracker.window = window
        let cpu = CPUSampler(serverPid: common.serverPid, at: window.measureFrom)
        let pacer = tracker.start(rate: rate)
        await window.waitForEnd()
        tracker.stop()
        pacer?.cancel()
        let usage = await cpu.usage(until: window.end)
        rss.stop()
        let drained = await waitUntil(seconds: drain) { tracker.idle }
        progress.stop()
        for connection in connections where !connection.isOpen {
            errors.add("closed during the run: \(connection.closeInfo.map(String.init(describing:)) ?? "?")")
        }
        let s = tracker.finish(what: "msg.send")
        _ = drained
        engine.shutdown(grace: .seconds(5))

        let seconds = window.seconds
        var table = SummaryTable()
        table.add("scenario", "chat  \(common.target)")
        table.add("rooms", "\(rooms) rooms × \(members) members = \(total) senders, \(size)-byte bodies, "
            + (rate > 0 ? "\(fmt(rate, 1)) msgs/s each (at most \(tracker.windowSize) unacked)" : "window \(tracker.windowSize) unacked each"))
        if offlineMembers > 0 {
            table.add("offline", "\(offlineMembers) more members per room not connected, "
                + (pushGateway.map { "each with a pusher of gateway \($0)" } ?? "without pushers"))
        }
        table.add("measured", "\(fmt(seconds, 1)) s after \(fmt(warmup, 1)) s warm-up")
        table.add("acked msgs/s", fmt(Double(s.acks) / seconds, 0) + "  (\(s.acks) acks)")
        table.add("ack latency", s.ackLatency.summary + "  [msg.send → ok, durable]")
        table.add("deliveries/s", fmt(Double(s.deliveries) / seconds, 0) + "  (to the other members)")
        table.add("latency", s.latency.summary + "  [send → each member's receipt]")
        table.add("every member", s.complete.summary + "  [send → last member's receipt]")
        table.add("server RSS", rss.summary)
        table.add("CPU (cores busy)", usage.summary)
        table.add("errors", "\(errors.total.load(ordering: .relaxed))")
        try finish(table, errors: errors, results: [
            "scenario": "chat",
            "target": .string(common.target),
            "rooms": .int(rooms),
            "members": .int(members),
            "offline_members": .int(offlineMembers),
            "pushers": .bool(pushGateway != nil),
            "senders": .int(total),
            "window": .int(tracker.windowSize),
            "rate_per_sender": .number(rate),
            "size": .int(size),
            "measured_s": .number(round3(seconds)),
            "sent": .int(s.sent),
            "acks": .int(s.acks),
            "acks_per_s": .number((Double(s.acks) / seconds).rounded()),
            "ack_latency": s.ackLatency.json,
            "deliveries": .int(s.deliveries),
            "deliveries_per_s": .number((Double(s.deliveries) / seconds).rounded()),
            "latency": s.latency.json,
            "every_member_latency": s.complete.json,
            "server_rss": rss.json,
            "cpu_cores": usage.json,
            "errors": errors.json,
            "protocol_errors": .int(errors.total.load(ordering: .relaxed)),
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
    }
}


extension ChatScenario {
    /// Users `PREFIX-0…count-1` say hello (and register a pusher with `--push-gateway`), then disconnect:
    /// members of the rooms who only ever receive while offline.
    func leaveOffline(count: Int, engine: ClientEngine, prefix: String, counters: Counters, errors: ErrorTally) async throws {
        guard count > 0 else { return }
        var dialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        dialer.prefix = prefix
        let offline = try await openGroup(dialer, count: count, what: "chat offline members").connections
        if let gateway = pushGateway {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, connection) in offline.enumerated() {
                    group.addTask { try await connection.registerPusher(gateway: gateway, appID: "loadtest", pushkey: "\(prefix)-\(i)") }
                }
                try await group.waitForAll()
            }
        }
        for connection in offline { connection.close() }
        await sleep(seconds: 0.5)
    }
}
