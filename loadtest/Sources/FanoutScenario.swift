import ArgumentParser
import LiaisonClient
import Synchronization

/// Options of the fan-out workload, shared by `fanout` (a Liaison room) and `mirror` (a plain
/// broadcast server): one sender, N receivers, a fixed payload size, a window of messages in flight.
struct FanoutOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .customLong("members")], help: "Receivers (the sender comes on top).")
    var members = 100

    @Option(help: "Payload bytes of each message (the chat body; the whole frame in mirror mode).")
    var size = 100

    @Option(help: "Messages in flight: sent and not yet received by every receiver.")
    var window = 16

    @Option(help: "Messages per second (0: as fast as the window allows).")
    var rate: Double = 0

    @Option(help: "Seconds of sending before measuring starts.")
    var warmup: Double = 1

    @Option(help: "Seconds allowed after the end for the messages in flight to arrive.")
    var drain: Double = 10

    @Option(help: "Receiving client: epoll (a minimal WebSocket reader on one epoll thread, cheap per frame) or lws (LiaisonClient).")
    var client: ReceiverClient = .epoll
}

enum ReceiverClient: String, ExpressibleByArgument, Sendable {
    case epoll, lws
}

/// `fanout`: one Liaison room of N members plus a sender; the sender's messages reach every member.
struct FanoutScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "One room, N members, one sender: deliveries/s and send→receipt latency at each member.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var fanout: FanoutOptions

    func run() async throws {
        try await FanoutRun(common: common, options: fanout, mode: .liaison).run()
    }
}

/// `mirror`: the same fan-out workload against a server that broadcasts every text frame to every
/// client (libwebsockets' test server with `lws-mirror-protocol`, loadtest/peers/broadcast.js).
struct MirrorScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "The fan-out workload against a plain broadcast server (lws-mirror-protocol, Node ws).",
        discussion: """
            Opens N receivers and one sender without hello; the sender's text frames (--size bytes, \
            stamped) are broadcast by the server to everyone. Against libwebsockets-test-server use \
            the defaults (--subprotocol lws-mirror-protocol --path /); the Node server accepts any.
            """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var fanout: FanoutOptions

    @Option(help: "WebSocket subprotocol asked for.")
    var subprotocol = "lws-mirror-protocol"

    @Option(help: "Name of the server implementation, for the report (lws, node…).")
    var label = "mirror"

    func run() async throws {
        var common = self.common
        if common.path == "/ws" { common.path = "/" }
        try await FanoutRun(common: common, options: fanout, mode: .mirror(subprotocol: subprotocol, label: label)).run()
    }
}

/// The fan-out workload.
struct FanoutRun {
    enum Mode {
        case liaison
        case mirror(subprotocol: String, label: String)

        var isMirror: Bool {
            if case .mirror = self { return true }
            return false
        }
    }

    let common: CommonOptions
    let options: FanoutOptions
    let mode: Mode

    func run() async throws {
        let receivers = max(1, options.members)
        let engine = try makeEngine(connections: receivers + 1)
        let counters = Counters()
        let errors = ErrorTally()
        let tracker = FanoutTracker(receivers: receivers, window: max(1, options.window), errors: errors)
        let progress = ProgressLine()
        progress.start({ rate in
            "fanout: \(counters.opened.load(ordering: .relaxed))/\(receivers + 1) connections, \(Int(rate)) deliveries/s, "
                + "errors \(errors.total.load(ordering: .relaxed))"
        }, counters: counters)
        tracker.counters = counters

        // Connection 0 sends; 1...N receive.
        var dialer = Dialer(engine: engine, common: common, counters: counters, errors: errors)
        let mirror = mode.isMirror
        if case .mirror(let subprotocol, _) = mode {
            tracker.expectsAcks = false
            dialer.authenticate = false
            dialer.configure = { index, options in
                options.subprotocol = subprotocol
                if index == 0 {
                    options.messageInterceptor = { @Sendable _ in true }
                } else {
                    options.messageInterceptor = { @Sendable bytes in tracker.received(bytes, receiver: index - 1) }
                }
            }
        } else {
            dialer.prefix = "\(common.userPrefix)-fo"
            dialer.configure = { index, options in
                if index == 0 {
                    options.messageInterceptor = { @Sendable bytes in tracker.senderFrame(bytes) }
                } else {
                    options.messageInterceptor = { @Sendable bytes in tracker.received(bytes, receiver: index - 1) }
                }
            }
        }
        // The room (Liaison) is made before its members connect, so they receive only the measured
        // messages: a room created with its members online sends each added member one
        // `room.member` `joined` event about themself (N frames; older servers sent N²). The
        // members are provisioned by an admin (`user.put`), the room created, then they connect.
        var roomID = ""
        var connections: [ClientConnection] = []
        var connectLatency = Latency()
        var epoll: EpollReceivers?
        if options.client == .epoll {
            epoll = EpollReceivers { receiver, payload in _ = tracker.received(payload, receiver: receiver) }
        }
        let subprotocol: String = {
            if case .mirror(let subprotocol, _) = mode { return subprotocol }
            return "liaison.v1"
        }()
        /// Opens receivers 1...N with the epoll client (their hello, for Liaison, made from `dialer`).
        func openEpollReceivers(_ epoll: EpollReceivers) async throws {
            let start = monotonicNanos()
            let rampNanos = max(0, common.ramp) * 1e9
            for i in 1...receivers {
                let due = start + UInt64(rampNanos * Double(i - 1) / Double(receivers))
                let now = monotonicNanos()
                if due > now + 1_000_000 { try? await Task.sleep(for: .nanoseconds(Int64(due - now))) }
                while i - 1 - epoll.ready.load(ordering: .relaxed) - epoll.failed.load(ordering: .relaxed) >= common.maxConnecting {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                var hello: String?
                if !mirror {
                    let token = common.token(index: i, prefix: dialer.prefix, role: nil)
                    hello = #"{"type":"hello","id":"1","token":"\#(token)","device":"\#(common.device(index: i))","client":"liaison-loadtest/1"}"#
                }
                let source = common.sourceAddresses.isEmpty ? nil : common.sourceAddresses[i % common.sourceAddresses.count]
                epoll.connect(host: common.host, port: common.port, path: common.path, subprotocol: subprotocol,
                              source: source, receiver: i - 1, hello: hello)
                counters.opened.store(epoll.ready.load(ordering: .relaxed), ordering: .relaxed)
            }
            let settled = await waitUntil(seconds: 60) {
                epoll.ready.load(ordering: .relaxed) + epoll.failed.load(ordering: .relaxed) >= receivers
            }
            let ready = epoll.ready.load(ordering: .relaxed)
            if !settled || ready < receivers {
                print("fanout: \(ready) of \(receivers) receivers ready")
                for (why, count) in epoll.failureCounts { print("  \(count) × \(why)") }
                epoll.shutdown()
                engine.shutdown()
                throw ExitCode(1)
            }
            connectLatency.record(nanos: monotonicNanos() - start)
        }
        if mirror {
            if let epoll {
                let first = try await openGroup(dialer, count: 1, what: "mirror sender")
                connections = [first.byIndex[0]!]
                try await openEpollReceivers(epoll)
            } else {
                let dial = try await openGroup(dialer, count: receivers + 1, what: "fanout")
                connections = dial.byIndex.map { $0! }
                connectLatency = dial.session
            }
        } else {
            let first = try await openGroup(dialer, count: 1, what: "fanout sender")
            let members = (1...receivers).map { common.user(index: $0, prefix: dialer.prefix) }
            try await provision(members, role: "msl", engine: engine, common: common, index: receivers + 1, errors: errors)
            let reply = try await first.byIndex[0]!.request(
                "room.create", ["kind": "group", "members": .array(members.map { .string($0) })], timeout: .seconds(120))
            guard case .ok(let frame) = reply, let room = frame["room"]?.string else {
                print("fanout: room.create failed: \(reply.frame)  (a room of \(receivers) members may need a larger --max-frame-bytes on the server)")
                engine.shutdown()
                throw ExitCode(1)
            }
            roomID = room
            connections = [first.byIndex[0]!]
            if let epoll {
                try await openEpollReceivers(epoll)
            } else {
                let rest = try await openGroup(dialer, count: receivers, firstIndex: 1, what: "fanout members")
                connections += rest.byIndex.map { $0! }
                connectLatency = rest.session
            }
            await sleep(seconds: 0.5)
        }
        let sender = connections[0]
        let size = options.size
        let roomLiteral = jsonString(roomID)
        tracker.send = { k, sentAt in
            let body = Stamp(stream: 1, number: k, sentAt: sentAt).text(size: size)
            if mirror {
                try? sender.sendText(body)
            } else {
                try? sender.sendText(
                    #"{"type":"msg.send","id":"fs\#(k)","room":\#(roomLiteral),"body":"\#(body)","client_msg_id":"fc\#(k)"}"#)
            }
        }

        // Run.
        let rss = RSSSampler(pid: common.serverPid)
        let window = Window(warmup: options.warmup, duration: common.duration)
        tracker.window = window
        let cpu = CPUSampler(serverPid: common.serverPid, at: window.measureFrom)
        let pacer = tracker.start(rate: options.rate)
        await window.waitForEnd()
        tracker.stop()
        pacer?.cancel()
        let usage = await cpu.usage(until: window.end)
        rss.stop()
        let drained = await waitUntil(seconds: options.drain) { tracker.idle }
        progress.stop()
        let closed = connections.filter { !$0.isOpen }
        for connection in closed {
            errors.add("closed during the run: \(connection.closeInfo.map(String.init(describing:)) ?? "?")")
        }
        if let epoll {
            let lost = epoll.closedWhileOpen.load(ordering: .relaxed)
            if lost > 0 {
                errors.add("receivers closed during the run", count: lost)
                for (why, count) in epoll.failureCounts { printError("  \(count) × \(why)\n") }
            }
            epoll.shutdown()
        }
        let snapshot = tracker.finish(drained: drained)
        engine.shutdown(grace: .seconds(5))

        // Report.
        let seconds = window.seconds
        let deliveriesPerSecond = Double(snapshot.deliveries) / seconds
        let label: String
        switch mode {
        case .liaison: label = "liaison"
        case .mirror(_, let name): label = name
        }
        var table = SummaryTable()
        table.add("scenario", "\(mirror ? "mirror" : "fanout") (\(label))  \(common.target)")
        table.add("members", "\(receivers) receivers (\(options.client.rawValue) client) + 1 sender, \(size)-byte payloads, window \(tracker.windowSize)"
            + (options.rate > 0 ? ", \(fmt(options.rate, 0)) msgs/s" : ""))
        table.add("measured", "\(fmt(seconds, 1)) s after \(fmt(options.warmup, 1)) s warm-up")
        table.add("deliveries/s", fmt(deliveriesPerSecond, 0) + "  (\(snapshot.deliveries) deliveries)")
        table.add("messages/s", fmt(Double(snapshot.completed) / seconds, 1) + "  (received by every member)")
        table.add("latency", snapshot.latency.summary + "  [send → receipt at each member]")
        table.add("last member", snapshot.complete.summary + "  [send → last member's receipt]")
        if !mirror {
            table.add("acks", "\(snapshot.acks), latency " + snapshot.ackLatency.summary)
        }
        table.add("server RSS", rss.summary)
        table.add("CPU (cores busy)", usage.summary)
        table.add("errors", "\(errors.total.load(ordering: .relaxed))")

        try finish(table, errors: errors, results: [
            "scenario": mirror ? "mirror" : "fanout",
            "server": .string(label),
            "target": .string(common.target),
            "members": .int(receivers),
            "client": .string(options.client.rawValue),
            "size": .int(size),
            "window": .int(tracker.windowSize),
            "rate": .number(options.rate),
            "measured_s": .number(round3(seconds)),
            "deliveries": .int(snapshot.deliveries),
            "deliveries_per_s": .number(deliveriesPerSecond.rounded()),
            "messages_per_s": .number(round3(Double(snapshot.completed) / seconds)),
            "latency": snapshot.latency.json,
            "last_member_latency": snapshot.complete.json,
            "acks": .int(snapshot.acks),
            "ack_latency": snapshot.ackLatency.json,
            "sent": .int(snapshot.sent),
            "server_rss": rss.json,
            "cpu_cores": usage.json,
            "connect_latency": connectLatency.json,
            "errors": errors.json,
            "protocol_errors": .int(errors.total.load(ordering: .relaxed)),
            "finished_at": .number(wallClockSeconds().rounded()),
        ], to: common.json)
    }
}

/// The fan-out bookkeeping, touched by the engine's service thread (receipts, acks) and the pacer.
final class FanoutTracker: @unchecked Sendable {
    struct Pending {
        var sentAt: UInt64
        var remaining: Int
    }

    struct State {
        var next: UInt64 = 0
        var allowed: UInt64 = .max
        var stopped = true
        var inflight: [UInt64: Pending] = [:]
        var unacked: [UInt64: UInt64] = [:]
        /// The next message number each receiver should see (one sender: strictly in order).
        var expected: [UInt64]
        var deliveries = 0
        var completed = 0
        var sent = 0
        var acks = 0
        var latency = Latency()
        var complete = Latency()
        var ackLatency = Latency()
    }

    struct Snapshot {
        var deliveries: Int
        var completed: Int
        var sent: Int
        var acks: Int
        var latency: Latency
        var complete: Latency
        var ackLatency: Latency
    }

    let receivers: Int
    let windowSize: Int
    let errors: ErrorTally
    private let state: Mutex<State>
    /// Set before sending starts, read-only afterwards.
    var send: (@Sendable (UInt64, UInt64) -> Void)?
    var window = Window(warmup: 0, duration: 0)
    var counters: Counters?
    /// Whether each message is answered (Liaison's `msg.send` → `ok`).
    var expectsAcks = true

    init(receivers: Int, window: Int, errors: ErrorTally) {
        self.receivers = receivers
        self.windowSize = window
        self.errors = errors
        state = Mutex(State(expected: Array(repeating: 0, count: receivers)))
    }

    /// Starts sending: window-limited, or paced at `rate` messages/s by the returned task.
    func start(rate: Double) -> Task<Void, Never>? {
        state.withLock { s in
            s.stopped = false
            s.allowed = rate > 0 ? 0 : .max
        }
        guard rate > 0 else {
            pump()
            return nil
        }
        let start = monotonicNanos()
        return Task {
            while !Task.isCancelled {
                let due = UInt64(Double(monotonicNanos() - start) / 1e9 * rate) + 1
                state.withLock { $0.allowed = due }
                pump()
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }

    /// Sends while the window (and the pace) allows.
    func pump() {
        while true {
            let now = monotonicNanos()
            let k: UInt64? = state.withLock { s in
                guard !s.stopped, s.inflight.count < windowSize, s.next < s.allowed else { return nil }
                let k = s.next
                s.next += 1
                s.sent += 1
                s.inflight[k] = Pending(sentAt: now, remaining: receivers)
                if expectsAcks { s.unacked[k] = now }
                return k
            }
            guard let k else { return }
            send?(k, now)
        }
    }

    /// A frame at receiver `receiver` (service thread). Consumes stamped frames.
    func received(_ bytes: UnsafeRawBufferPointer, receiver: Int) -> Bool {
        guard let stamp = Stamp.read(bytes) else { return false }
        let now = monotonicNanos()
        let measuring = window.contains(now)
        var problem: String?
        let completed: Bool = state.withLock { s in
            let expected = s.expected[receiver]
            if stamp.number != expected {
                problem = stamp.number < expected ? "duplicate or reordered delivery" : "missed delivery (gap)"
            }
            s.expected[receiver] = max(expected, stamp.number + 1)
            guard var pending = s.inflight[stamp.number] else {
                if problem == nil { problem = "delivery of a message not in flight" }
                return false
            }
            pending.remaining -= 1
            if measuring {
                s.deliveries += 1
                s.latency.record(nanos: now &- stamp.sentAt)
            }
            if pending.remaining > 0 {
                s.inflight[stamp.number] = pending
                return false
            }
            s.inflight[stamp.number] = nil
            if measuring {
                s.completed += 1
                s.complete.record(nanos: now &- pending.sentAt)
            }
            return true
        }
        counters?.operations.add(1, ordering: .relaxed)
        if let problem { errors.add(problem) }
        if completed { pump() }
        return true
    }

    /// A frame at the sender (Liaison): its own `msg` copies, the `ok`s of `msg.send`, errors.
    func senderFrame(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if Stamp.read(bytes) != nil { return true }
        guard let id = RawScan.string(after: #""id":""#, in: bytes), id.hasPrefix("fs"),
              let k = UInt64(id.dropFirst(2)) else { return false }
        if RawScan.contains(#""type":"ok""#, in: bytes) {
            let now = monotonicNanos()
            state.withLock { s in
                guard let sentAt = s.unacked.removeValue(forKey: k) else { return }
                s.acks += 1
                if window.contains(now) { s.ackLatency.record(nanos: now &- sentAt) }
            }
        } else {
            let code = RawScan.string(after: #""code":""#, in: bytes) ?? "?"
            state.withLock { _ = $0.unacked.removeValue(forKey: k) }
            errors.add("msg.send error: \(code)")
        }
        return true
    }

    /// Nothing in flight and nothing unacknowledged.
    var idle: Bool { state.withLock { $0.inflight.isEmpty && $0.unacked.isEmpty } }

    /// The figures; what is still in flight counts as protocol errors.
    func finish(drained: Bool) -> Snapshot {
        state.withLock { s in
            let missing = s.inflight.values.reduce(0) { $0 + $1.remaining }
            errors.add("deliveries missing after the drain", count: missing)
            errors.add("msg.send without a reply after the drain", count: s.unacked.count)
            return Snapshot(deliveries: s.deliveries, completed: s.completed, sent: s.sent, acks: s.acks,
                            latency: s.latency, complete: s.complete, ackLatency: s.ackLatency)
        }
    }
}
