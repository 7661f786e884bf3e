import ArgumentParser
import LiaisonClient

/// Options every scenario takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "Server host or IP address.")
    var host = "127.0.0.1"

    @Option(help: "Server port (ws, or wss with --tls).")
    var port = 8080

    @Flag(help: "Connect with wss:// (self-signed certificates accepted).")
    var tls = false

    @Option(help: "WebSocket path.")
    var path = "/ws"

    @Option(help: "HS256 secret the server verifies tokens with (its --jwt-secret).")
    var secret = "bench"

    @Option(help: "Tenant claim of every token.")
    var tenant = "loadtest"

    @Option(help: "Role claim of every token (hcp, msl, fmd, admin).")
    var role = "msl"

    @Option(help: "Prefix of the generated user ids (user N is PREFIX-N).")
    var userPrefix = "lt"

    @Option(
        help: "Comma-separated local addresses to bind, used round-robin (e.g. 127.0.0.1,127.0.0.2): each gives ~28k ports.",
        transform: { $0.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty } })
    var sourceAddresses: [String] = []

    @Option(help: "Seconds over which connections are opened.")
    var ramp: Double = 5

    @Option(help: "Seconds the scenario runs (holds, or sends) once connected.")
    var duration: Double = 10

    @Option(help: "Most connection attempts in flight at once.")
    var maxConnecting = 256

    @Option(help: "Write machine-readable results to this file.")
    var json: String?

    @Option(help: "PID of the server (on this machine), to report its memory and CPU use.")
    var serverPid: Int32?

    func connectOptions(index: Int) -> ConnectOptions {
        ConnectOptions(
            host: host,
            port: port,
            path: path,
            tls: tls ? .allowSelfSigned : .off,
            sourceAddress: sourceAddresses.isEmpty ? nil : sourceAddresses[index % sourceAddresses.count],
            eventBufferLimit: 64)
    }

    func token(index: Int, prefix: String? = nil, role: String? = nil, areas: [String] = ["cardiology"]) -> String {
        JWTMinter.hs256(
            secret: secret,
            claims: [
                "sub": .string(user(index: index, prefix: prefix)),
                "role": .string(role ?? self.role),
                "tenant": .string(tenant),
                "name": .string("Load test user \(index)"),
                "areas": .array(areas.map { .string($0) }),
                "exp": .int(Int(wallClockSeconds()) + 24 * 3600),
            ])
    }

    func device(index: Int) -> String { "lt-device-\(index)" }

    /// The user id of connection `index`: `PREFIX-index`.
    func user(index: Int, prefix: String? = nil) -> String { "\(prefix ?? userPrefix)-\(index)" }

    var target: String { "\(tls ? "wss" : "ws")://\(host):\(port)\(path)" }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
