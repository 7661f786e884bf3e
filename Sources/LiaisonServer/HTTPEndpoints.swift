import Foundation
import LiaisonCore
import Prometheus

/// Plain HTTP on the WebSocket port: `GET /healthz`, `GET /metrics`, `GET /v1/info` (what a client may use:
/// dev tokens or not), users' calendar feeds (`GET /v1/calendar/TOKEN.ics`), the protocol's schema and
/// AsyncAPI document, the console. File uploads and downloads are in `FileEndpoints`.
struct HTTPEndpoints: Sendable {
    typealias Response = HTTPResponse

    let metrics: PrometheusCollectorRegistry
    let started: ContinuousClock.Instant
    let connectionCount: @Sendable () -> Int
    /// Cluster mode: the node's name and its link to the bus.
    let cluster: (@Sendable () -> ClusterHealth)?
    /// Cluster mode: where clients reach each node (`http(s)://host:port`), for `/v1/info`'s `ws_urls`.
    var nodeURLs: (@Sendable () -> [String])? = nil
    /// On a cluster node that relays: the base URL of the active node, where the HTTP API that needs the
    /// domain is served (nil while unknown).
    var activeURL: (@Sendable () -> String?)? = nil
    let console = StaticFiles()
    let protocolDocuments = ProtocolDocuments()
    /// The HS256 secret `GET /dev/token` signs with; nil unless the server runs with `--dev`.
    let devSecret: String?
    /// The `.ics` of a calendar feed token (nil: no such feed); nil on a cluster node that relays.
    let calendar: (@Sendable (String) -> String?)?
    /// Uploads and downloads (`/v1/files`), answered by the transport as their bodies stream; nil on a
    /// cluster node that relays.
    let files: FileEndpoints?

    /// `path` is the request path; `query` its query string (lws hands them over separately).
    func respond(to path: String, query: [String: String]) -> Response {
        switch path {
        case "/healthz":
            let uptime = ContinuousClock.now - started
            let health = cluster?()
            let degraded = health.map { !$0.busConnected } ?? false
            var body: [String: any Sendable] = [
                "status": degraded ? "degraded" : "ok",
                "connections": connectionCount(),
                "uptime": Double(uptime.components.seconds) + Double(uptime.components.attoseconds) * 1e-18,
            ]
            if let health {
                var cluster = ["node": health.node, "role": health.role, "bus": health.busConnected ? "connected" : "lost"]
                if let active = health.active { cluster["active"] = active }
                body["cluster"] = cluster
            }
            return json(degraded ? 503 : 200, body)
        case "/metrics":
            ServerMetrics.sessionObjects.record(Session.liveCount)
            ServerMetrics.connectionObjects.record(Connection.liveCount)
            var buffer: [UInt8] = []
            metrics.emit(into: &buffer)
            return Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: buffer)
        case "/dev/token":
            return devToken(query)
        case "/v1/info":
            var info: [String: any Sendable] = ["protocol": 1, "dev": devSecret != nil, "ws_path": "/ws"]
            if let urls = nodeURLs?(), !urls.isEmpty {
                info["ws_urls"] = urls.sorted().map { url in
                    (url.hasPrefix("https://") ? "wss://" + url.dropFirst(8) : "ws://" + url.dropFirst(7)) + "/ws"
                }
            }
            return json(200, info)
        case "/v1/schema":
            return Response(status: 200, contentType: "application/schema+json", body: protocolDocuments.schema)
        case "/v1/asyncapi.yaml":
            return Response(status: 200, contentType: "application/yaml; charset=utf-8", body: protocolDocuments.asyncAPI)
        case _ where path.hasPrefix("/v1/calendar/") && path.hasSuffix(".ics"):
            let token = String(path.dropFirst("/v1/calendar/".count).dropLast(".ics".count))
            guard let calendar else { return relayAnswer(path: path, query: query) }
            guard let ics = calendar(token) else {
                return json(404, ["error": "not_found", "message": "no such calendar feed"])
            }
            return Response(status: 200, contentType: "text/calendar; charset=utf-8", body: Array(ics.utf8))
        default:
            if let file = console.file(for: path) {
                return Response(status: 200, contentType: file.contentType, body: file.body)
            }
            return json(404, ["error": "not_found", "message": "no such endpoint: WebSocket clients connect to /ws"])
        }
    }

    /// A token for any user, role, tenant and areas: development only.
    private func devToken(_ query: [String: String]) -> Response {
        guard let devSecret else {
            return json(404, ["error": "not_found", "message": "dev tokens are available only with liaison serve --dev"])
        }
        guard let sub = query["sub"], !sub.isEmpty, let tenant = query["tenant"], !tenant.isEmpty,
              let role = query["role"].flatMap(Role.init(rawValue:)) else {
            return json(400, ["error": "bad_request", "message": "sub, tenant and role (hcp, msl, fmd, admin) are required"])
        }
        let areas = query["areas"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let claims = TokenClaims(sub: sub, role: role, tenant: tenant, name: query["name"].flatMap { $0.isEmpty ? nil : $0 },
                                 areas: areas, expires: Date().addingTimeInterval(12 * 3600))
        guard let token = try? TokenIssuer.token(secret: devSecret, claims: claims) else {
            return json(500, ["error": "internal", "message": "the token could not be signed"])
        }
        return json(200, ["token": token])
    }

    /// What a cluster node that relays WebSockets answers to the HTTP API that needs the domain (files,
    /// calendar feeds, the admin export), served by the active node: a redirect there (307: the method and
    /// body are sent again), or 503 while the active node is not known.
    func relayAnswer(path: String, query: [String: String]) -> Response {
        guard let base = activeURL?() else {
            return HTTPResponse.error(
                503, "unavailable", "this cluster node relays WebSockets; the active node that serves this is not known yet")
        }
        var components = URLComponents()
        components.path = path
        components.queryItems = query.isEmpty ? nil : query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        let location = base + (components.string ?? path)
        var response = HTTPResponse.json(307, ["error": "moved", "message": "served by the cluster's active node", "location": location])
        response.headers.append((name: "Location", value: location))
        return response
    }

    private func json(_ status: UInt32, _ object: [String: any Sendable]) -> Response {
        HTTPResponse.json(status, object)
    }
}
