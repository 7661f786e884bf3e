import Metrics

/// One notification's trip to one gateway: tried, and tried again with exponential backoff and jitter
/// (1 s doubling to 60 s) while the gateway asks for it and the event is fresh.
struct PushAttempt: Sendable {
    let url: String
    let body: [UInt8]
    let gateway: String
    let devices: [Pusher]
    let kind: PushNotification.Kind
    let event: String
    /// Wall-clock milliseconds after which the event is stale.
    let freshUntil: Millis
    /// When the event happened, for `liaison_push_latency_seconds`.
    let started: ContinuousClock.Instant

    static let firstBackoff: Double = 1
    static let maxBackoff: Double = 60

    /// Sends until accepted, refused, stale or cancelled; `done` gets the last answer.
    func run(client: any PushGatewayClient, isFresh: @Sendable () async -> Bool,
             done: @Sendable (PushGatewayAnswer) async -> Void) async {
        var backoff = Self.firstBackoff
        while true {
            let answer = await client.notify(url: url, body: body)
            switch answer {
            case .accepted:
                PushMetrics.sent.increment()
                PushMetrics.latency.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
                return await done(answer)
            case .refused:
                PushMetrics.failed.increment()
                return await done(answer)
            case .retryLater:
                PushMetrics.failed.increment()
                let wait = backoff * Double.random(in: 0.5...1.5)
                backoff = min(backoff * 2, Self.maxBackoff)
                guard (try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))) != nil, await isFresh() else {
                    return await done(answer)
                }
                PushMetrics.retried.increment()
            }
        }
    }
}

/// The push counters of /metrics.
enum PushMetrics {
    static let sent = Counter(label: "liaison_push_sent_total")
    static let failed = Counter(label: "liaison_push_failed_total")
    static let retried = Counter(label: "liaison_push_retried_total")
    static let rejected = Counter(label: "liaison_push_rejected_total")
    static let dropped = Counter(label: "liaison_push_dropped_total")
    /// Event → the gateway accepted the notification.
    static let latency = Timer(label: "liaison_push_latency_seconds")
}
