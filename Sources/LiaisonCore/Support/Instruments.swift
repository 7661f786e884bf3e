import Metrics

/// The domain's metrics, reported through swift-metrics (the server exports them to Prometheus).
public enum Instruments {
    public static let presenceEvents = Counter(label: "liaison_presence_events_total")
    public static let sessionsStarted = Counter(label: "liaison_sessions_started_total")

    /// Error replies, by code (one counter per code, made once).
    public static func error(_ code: ErrorCode) {
        errors[code]?.increment()
    }

    private static let errors: [ErrorCode: Counter] = Dictionary(uniqueKeysWithValues: ErrorCode.allCases.map {
        ($0, Counter(label: "liaison_errors_total", dimensions: [("code", $0.rawValue)]))
    })
}
