import Foundation
import LiaisonCore
import Prometheus

/// Plain HTTP on the WebSocket port: `GET /healthz` and `GET /metrics`.
struct HTTPEndpoints: Sendable {
    struct Response {
        var status: UInt32
        var contentType: String
        var body: [UInt8]
    }

    let metrics: PrometheusCollectorRegistry
    let started: ContinuousClock.Instant
    let connectionCount: @Sendable () -> Int

    func respond(to path: String) -> Response {
        switch path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path {
        case "/healthz":
            let uptime = ContinuousClock.now - started
            let body: [String: Any] = [
                "status": "ok",
                "connections": connectionCount(),
                "uptime": Double(uptime.components.seconds) + Double(uptime.components.attoseconds) * 1e-18,
            ]
            return json(200, body)
        case "/metrics":
            var buffer: [UInt8] = []
            metrics.emit(into: &buffer)
            return Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: buffer)
        default:
            return json(404, ["error": "not_found", "message": "no such endpoint: WebSocket clients connect to /ws"])
        }
    }

    private func json(_ status: UInt32, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, contentType: "application/json", body: Array(data))
    }
}
