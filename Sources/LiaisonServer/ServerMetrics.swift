import Metrics
import Prometheus

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

extension PrometheusMetricsFactory {
    /// The factory `/metrics` exports through, with buckets fine enough for a server whose requests take
    /// tens of microseconds (the library's defaults start at 5 ms) and for batch sizes.
    public static func liaison(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(3), .milliseconds(5), .milliseconds(7.5), .milliseconds(10),
            .milliseconds(15), .milliseconds(20), .milliseconds(30), .milliseconds(50), .milliseconds(75),
            .milliseconds(100), .milliseconds(150), .milliseconds(200), .milliseconds(300), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 16384]
        return factory
    }
}
