import Synchronization

/// Bookkeeping of "many senders, each message to a known number of recipients" (chat, presence):
/// per sender a window of unanswered requests and an optional pace; per message the recipients
/// still to receive it; per (recipient, sender) the next message number, to catch losses,
/// duplicates and reordering. Touched by the engine's service thread and the pacer.
final class MulticastTracker: @unchecked Sendable {
    struct Pending {
        var sentAt: UInt64
        var remaining: Int
    }

    struct State {
        var next: [UInt64]
        var allowed: [UInt64]
        var unacked: [[UInt64: UInt64]]
        var inflight: [UInt64: Pending] = [:]
        var expected: [UInt64: UInt64] = [:]
        var stopped = true
        var sent = 0
        var acks = 0
        var deliveries = 0
        var latency = Latency()
        var complete = Latency()
        var ackLatency = Latency()
    }

    struct Snapshot {
        var sent: Int
        var acks: Int
        var deliveries: Int
        var latency: Latency
        var complete: Latency
        var ackLatency: Latency
    }

    let senders: Int
    /// Recipients of each message of sender `i`.
    let recipients: [Int]
    let windowSize: Int
    let errors: ErrorTally
    private let state: Mutex<State>
    /// One per sender: a message number is taken and sent under it, so two threads pumping the same
    /// sender (the pacer and a reply) never put its messages on the wire out of order.
    private let sendOrder: [SendOrder]

    private final class SendOrder: Sendable {
        let lock = Mutex(())
    }
    /// Sends message `k` of sender `i` stamped `sentAt`; set before `start`.
    var send: (@Sendable (_ sender: Int, _ k: UInt64, _ sentAt: UInt64) -> Void)?
    var window = Window(warmup: 0, duration: 0)
    var counters: Counters?

    init(recipients: [Int], window: Int, errors: ErrorTally) {
        senders = recipients.count
        self.recipients = recipients
        windowSize = window
        self.errors = errors
        state = Mutex(State(
            next: Array(repeating: 0, count: senders), allowed: Array(repeating: .max, count: senders),
            unacked: Array(repeating: [:], count: senders)))
        sendOrder = (0..<senders).map { _ in SendOrder() }
    }

    private static func key(_ a: Int, _ b: UInt64) -> UInt64 { UInt64(a) << 40 | b }

    /// Starts sending: window-limited, or paced at `rate` messages/s per sender by the returned task.
    func start(rate: Double) -> Task<Void, Never>? {
        state.withLock { s in
            s.stopped = false
            for i in 0..<s.allowed.count { s.allowed[i] = rate > 0 ? 0 : .max }
        }
        guard rate > 0 else {
            for sender in 0..<senders { pump(sender) }
            return nil
        }
        let start = monotonicNanos()
        let senders = self.senders
        return Task {
            while !Task.isCancelled {
                let due = UInt64(Double(monotonicNanos() - start) / 1e9 * rate) + 1
                state.withLock { s in for i in 0..<senders { s.allowed[i] = due } }
                for sender in 0..<senders { pump(sender) }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    func stop() { state.withLock { $0.stopped = true } }

    /// Sends what sender `sender`'s window and pace allow.
    func pump(_ sender: Int) {
        sendOrder[sender].lock.withLock { _ in pumpInOrder(sender) }
    }

    private func pumpInOrder(_ sender: Int) {
        while true {
            let now = monotonicNanos()
            let k: UInt64? = state.withLock { s in
                guard !s.stopped, s.unacked[sender].count < windowSize, s.next[sender] < s.allowed[sender] else { return nil }
                let k = s.next[sender]
                s.next[sender] += 1
                s.sent += 1
                s.unacked[sender][k] = now
                if recipients[sender] > 0 {
                    s.inflight[Self.key(sender, k)] = Pending(sentAt: now, remaining: recipients[sender])
                }
                return k
            }
            guard let k else { return }
            send?(sender, k, now)
        }
    }

    /// The reply to message `k` of `sender`: `ok`, or an error with `code`. Refills the window.
    func replied(sender: Int, k: UInt64, errorCode: String?, what: String) {
        let now = monotonicNanos()
        state.withLock { s in
            guard let sentAt = s.unacked[sender].removeValue(forKey: k) else { return }
            guard errorCode == nil, window.contains(now) else { return }
            s.acks += 1
            s.ackLatency.record(nanos: now &- sentAt)
        }
        counters?.operations.add(1, ordering: .relaxed)
        if let errorCode { errors.add("\(what) error: \(errorCode)") }
        pump(sender)
    }

    /// Recipient `receiver` got message `stamp.number` of sender `stamp.stream`.
    func received(_ stamp: Stamp, at receiver: Int) {
        let now = monotonicNanos()
        let measuring = window.contains(now)
        let sender = Int(stamp.stream)
        var problem: String?
        state.withLock { s in
            guard sender < senders else {
                problem = "message from an unknown sender"
                return
            }
            let orderKey = Self.key(receiver, UInt64(sender))
            let expected = s.expected[orderKey] ?? 0
            if stamp.number != expected {
                problem = stamp.number < expected ? "duplicate or reordered delivery" : "missed delivery (gap)"
            }
            s.expected[orderKey] = max(expected, stamp.number + 1)
            let key = Self.key(sender, stamp.number)
            guard var pending = s.inflight[key] else {
                if problem == nil { problem = "delivery of a message not in flight" }
                return
            }
            pending.remaining -= 1
            if measuring {
                s.deliveries += 1
                s.latency.record(nanos: now &- stamp.sentAt)
            }
            if pending.remaining > 0 {
                s.inflight[key] = pending
            } else {
                s.inflight[key] = nil
                if measuring { s.complete.record(nanos: now &- pending.sentAt) }
            }
        }
        if let problem { errors.add(problem) }
    }

    var idle: Bool { state.withLock { s in s.inflight.isEmpty && s.unacked.allSatisfy(\.isEmpty) } }

    /// The figures; what is still missing counts as protocol errors.
    func finish(what: String) -> Snapshot {
        state.withLock { s in
            errors.add("deliveries missing after the drain", count: s.inflight.values.reduce(0) { $0 + $1.remaining })
            errors.add("\(what) without a reply after the drain", count: s.unacked.reduce(0) { $0 + $1.count })
            return Snapshot(sent: s.sent, acks: s.acks, deliveries: s.deliveries, latency: s.latency,
                            complete: s.complete, ackLatency: s.ackLatency)
        }
    }
}

/// Reads the reply to one of our requests whose id is `PREFIX<number>`: (number, error code or nil).
@inline(__always)
func readReply(_ bytes: UnsafeRawBufferPointer, prefix: Character) -> (k: UInt64, errorCode: String?)? {
    guard let id = RawScan.string(after: #""id":""#, in: bytes), id.first == prefix, let k = UInt64(id.dropFirst()) else {
        return nil
    }
    if RawScan.contains(#""type":"ok""#, in: bytes) { return (k, nil) }
    return (k, RawScan.string(after: #""code":""#, in: bytes) ?? "?")
}
