import Metrics

/// The transport's metrics.
enum ServerMetrics {
    static let connections = Gauge(label: "liaison_connections")
    static let framesIn = Counter(label: "liaison_frames_in_total")
    static let framesOut = Counter(label: "liaison_frames_out_total")
    static let outboxBytes = Gauge(label: "liaison_outbox_bytes")
    static let slowConsumers = Counter(label: "liaison_slow_consumers_total")
    static let oversizeFrames = Counter(label: "liaison_oversize_frames_total")
    /// Session and connection objects alive (created, not yet freed): with no clients, both fall to 0.
    static let sessionObjects = Gauge(label: "liaison_session_objects")
    static let connectionObjects = Gauge(label: "liaison_connection_objects")
}
