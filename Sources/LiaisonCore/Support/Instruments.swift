import Metrics

/// The domain's metrics, reported through swift-metrics (the server exports them to Prometheus).
public enum Instruments {
    public static let presenceEvents = Counter(label: "liaison_presence_events_total")
    public static let sessionsStarted = Counter(label: "liaison_sessions_started_total")
    /// From an event's making to its last recipient's bytes written to the kernel.
    static let fanout = Timer(label: "liaison_fanout_duration_seconds")

    /// A request's reply was handed to the transport: records the time since its last byte arrived
    /// (`liaison_request_duration_seconds{type}`).
    static func requestAnswered(_ type: String, receivedAt: ContinuousClock.Instant) {
        requestDurations[type]?.recordNanoseconds((ContinuousClock.now - receivedAt).nanoseconds)
    }

    private static let requestDurations: [String: Timer] = Dictionary(uniqueKeysWithValues: Request.decoders.keys.map {
        ($0, Timer(label: "liaison_request_duration_seconds", dimensions: [("type", $0)]))
    })

    /// Error replies, by code (one counter per code, made once).
    public static func error(_ code: ErrorCode) {
        errors[code]?.increment()
    }

    private static let errors: [ErrorCode: Counter] = Dictionary(uniqueKeysWithValues: ErrorCode.allCases.map {
        ($0, Counter(label: "liaison_errors_total", dimensions: [("code", $0.rawValue)]))
    })
}
