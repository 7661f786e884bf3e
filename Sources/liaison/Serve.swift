import ArgumentParser
import Dispatch
import Foundation
import LiaisonCluster
import LiaisonCore
import LiaisonServer
import Logging
import Metrics
import Prometheus

/// `liaison serve`: runs the server until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server. Every flag can also be set as LIAISON_<FLAG>, e.g. LIAISON_TLS_PORT.")

    @Option(help: "Address to listen on (LIAISON_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "ws port (LIAISON_PORT; default 8080).") var port: Int?
    @Option(help: "wss port, 0 = off (LIAISON_TLS_PORT; default 8443, on when a certificate is given).") var tlsPort: Int?
    @Option(help: "TLS certificate chain, PEM (LIAISON_TLS_CERT).") var tlsCert: String?
    @Option(help: "TLS private key, PEM (LIAISON_TLS_KEY).") var tlsKey: String?
    @Option(help: "Data directory (LIAISON_DATA_DIR; default ./data).") var dataDir: String?
    @Option(help: "HS256 secret for access tokens (LIAISON_JWT_SECRET; default: a dev secret kept in the data dir).") var jwtSecret: String?
    @Option(help: "PEM public key for RS256/ES256 tokens (LIAISON_JWT_PUBLIC_KEY).") var jwtPublicKey: String?
    @OptionGroup(title: "Identity provider") var identityProvider: IdentityProviderOptions
    @OptionGroup(title: "Push notifications") var push: PushOptions
    @OptionGroup(title: "Files") var files: FileOptions
    @OptionGroup(title: "Cluster") var cluster: ClusterOptions
    @Option(help: "Largest inbound message in bytes (LIAISON_MAX_FRAME_BYTES; default 65536).") var maxFrameBytes: Int?
    @Option(help: "Seconds a new connection has to say hello (LIAISON_HELLO_TIMEOUT; default 10).") var helloTimeout: Double?
    @Option(help: "Ping interval in seconds; silent peers go after twice this (LIAISON_HEARTBEAT; default 30).") var heartbeat: Double?
    @Option(help: "Seconds before a user whose devices all left is shown offline (LIAISON_PRESENCE_GRACE; default 10).") var presenceGrace: Double?
    @Option(help: "Requests per second per connection, burst twice this (LIAISON_RATE_LIMIT; default 50).") var rateLimit: Double?
    @Option(help: "Bytes queued to one connection before it is closed as a slow consumer (LIAISON_OUTBOX_LIMIT_BYTES; default 4194304).") var outboxLimitBytes: Int?
    @Option(help: "Seconds between snapshots of changed rooms (LIAISON_SNAPSHOT_INTERVAL; default 5).") var snapshotInterval: Double?
    @Option(help: "batch (group commit before ok), always (a sync per record) or never (UNSAFE, benchmarks only) (LIAISON_FSYNC; default batch).") var fsync: String?
    @Flag(help: "Development mode: GET /dev/token mints tokens for any user (LIAISON_DEV=1). Never in production.") var dev = false
    @Option(help: "permessage-deflate for clients that offer it: off or on (LIAISON_COMPRESSION; default off).") var compression: String?
    @Option(help: "WebSocket path that echoes every message, for conformance tests such as Autobahn (LIAISON_ECHO_PATH; default off).") var echoPath: String?
    @Option(help: "How clients reach this server, for links it hands out such as calendar feeds (LIAISON_PUBLIC_URL; default http://HOST:PORT).") var publicUrl: String?
    @Option(help: "Minutes before a meeting's start its reminder goes out (LIAISON_MEETING_REMINDER; default 10).") var meetingReminder: Double?
    @Option(help: "Minutes after a meeting's end its call may still start; then it is held or missed (LIAISON_MEETING_LATE; default 60).") var meetingLate: Double?
    @Option(help: "Seconds a MOD request stays open without a claim (LIAISON_MOD_TTL; default 120).") var modTtl: Double?
    @Option(help: "Seconds a call rings before it ends with timeout (LIAISON_RING_TIMEOUT; default 45).") var ringTimeout: Double?
    @Option(help: "Seconds a call waits for a device that went away (LIAISON_CALL_GRACE; default 20).") var callGrace: Double?
    @Option(help: "TURN server URLs handed to clients, comma-separated (LIAISON_TURN_URLS).") var turnUrls: String?
    @Option(help: "Secret shared with the TURN server, TURN REST API (LIAISON_TURN_SECRET).") var turnSecret: String?
    @Option(help: "Seconds TURN credentials stay valid (LIAISON_TURN_TTL; default 86400).") var turnTtl: Double?
    @Option(help: "Archived messages each room keeps in memory (LIAISON_ROOM_MEMORY_MESSAGES; default 1000).") var roomMemoryMessages: Int?
    @Option(help: "Erase message bodies older than this many days at snapshots, leaving tombstones; rooms under room.hold are exempt; fractions allowed (LIAISON_RETENTION_DAYS; default: keep everything).") var retentionDays: Double?

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory.liaison(registry: metrics))

        let configuration = try resolveConfiguration()
        let signals = StopSignals()
        if let cluster = try cluster.resolve() {
            try await serveClusterNode(cluster, configuration, metrics: metrics, signals: signals)
        } else {
            let server = try await LiaisonServer(configuration: configuration.server, metrics: metrics)
            printBanner(configuration, port: server.port, tlsPort: server.tlsPort)
            signals.onStop { server.stop() }
            await server.run()
        }
        print("liaison: stopped")
    }

    struct Resolved {
        var server: ServerConfiguration
        var devSecret: Bool
    }

    private func resolveConfiguration() throws -> Resolved {
        let dataDirectory = URL(fileURLWithPath: try Environment.resolve(dataDir, "data-dir", "data") { $0 })
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let secretFlag = jwtSecret ?? Environment.value(for: "jwt-secret")
        let secret = try secretFlag ?? DevSecret.load(in: dataDirectory)

        var server = ServerConfiguration(jwtSecret: secret)
        server.dataDirectory = dataDirectory
        server.host = try Environment.resolve(host, "host", "127.0.0.1") { $0 }
        server.port = try Environment.resolve(port, "port", 8080) { Int($0) }
        server.tlsCertificate = try Environment.resolve(tlsCert, "tls-cert", nil) { $0 }
        server.tlsPrivateKey = try Environment.resolve(tlsKey, "tls-key", nil) { $0 }
        server.tlsPort = try Environment.resolve(tlsPort, "tls-port", 8443) { Int($0) }
        if let path = try Environment.resolve(jwtPublicKey, "jwt-public-key", nil, parse: { $0 }) {
            server.jwtPublicKeyPEM = try String(contentsOfFile: path, encoding: .utf8)
        }
        try identityProvider.apply(to: &server)
        try push.apply(to: &server.hub.push)
        try files.apply(to: &server.hub.files, dataDirectory: dataDirectory)
        server.maxFrameBytes = try Environment.resolve(maxFrameBytes, "max-frame-bytes", 65536) { Int($0) }
        server.outboxLimitBytes = try Environment.resolve(outboxLimitBytes, "outbox-limit-bytes", 4 << 20) { Int($0) }
        server.hub.helloTimeout = try Environment.resolve(helloTimeout, "hello-timeout", 10) { Double($0) }
        server.hub.heartbeat = try Environment.resolve(heartbeat, "heartbeat", 30) { Double($0) }
        server.hub.presenceGrace = try Environment.resolve(presenceGrace, "presence-grace", 10) { Double($0) }
        server.hub.rateLimit = try Environment.resolve(rateLimit, "rate-limit", 50) { Double($0) }
        server.hub.snapshotInterval = try Environment.resolve(snapshotInterval, "snapshot-interval", 5) { Double($0) }
        let fsyncName = try Environment.resolve(fsync, "fsync", "batch") { $0 }
        guard let fsyncMode = FsyncMode(rawValue: fsyncName) else {
            throw ValidationError("--fsync must be one of \(FsyncMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        server.hub.fsync = fsyncMode
        server.dev = dev || ["1", "true", "yes"].contains(Environment.value(for: "dev")?.lowercased() ?? "")
        server.echoPath = try Environment.resolve(echoPath, "echo-path", nil) { $0 }
        switch try Environment.resolve(compression, "compression", "off", parse: { $0 }) {
        case "off": server.compression = false
        case "on": server.compression = true
        default: throw ValidationError("--compression must be off or on")
        }
        if let path = server.echoPath, !path.hasPrefix("/") || path == "/ws" {
            throw ValidationError("--echo-path must be a path starting with / other than /ws")
        }
        if let publicURL = try Environment.resolve(publicUrl, "public-url", nil, parse: { $0 }) {
            guard let parsed = URL(string: publicURL), ["http", "https"].contains(parsed.scheme), parsed.host != nil else {
                throw ValidationError("--public-url must be an http or https URL such as https://liaison.example.com")
            }
            server.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        }
        server.hub.modTTL = try Environment.resolve(modTtl, "mod-ttl", 120) { Double($0) }
        server.hub.meetingReminder = try Environment.resolve(meetingReminder, "meeting-reminder", 10) { Double($0) }
        server.hub.meetingLate = try Environment.resolve(meetingLate, "meeting-late", 60) { Double($0) }
        guard server.hub.meetingReminder >= 0, server.hub.meetingLate >= 0 else {
            throw ValidationError("--meeting-reminder and --meeting-late must not be negative")
        }
        server.hub.ringTimeout = try Environment.resolve(ringTimeout, "ring-timeout", 45) { Double($0) }
        server.hub.callGrace = try Environment.resolve(callGrace, "call-grace", 20) { Double($0) }
        server.hub.turnURLs = try Environment.resolve(turnUrls, "turn-urls", "") { $0 }
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        server.hub.turnSecret = try Environment.resolve(turnSecret, "turn-secret", nil) { $0 }
        server.hub.turnTTL = try Environment.resolve(turnTtl, "turn-ttl", 86400) { Double($0) }
        server.hub.roomMemoryMessages = try Environment.resolve(roomMemoryMessages, "room-memory-messages", 1000) { Int($0) }
        guard server.hub.roomMemoryMessages >= 0 else { throw ValidationError("--room-memory-messages must not be negative") }
        let days: Double? = try Environment.resolve(retentionDays, "retention-days", nil) { text -> Double?? in
            guard let value = Double(text) else { return nil }  // unparsable: an error, not "off"
            return .some(value)
        }
        if let days {
            guard days > 0, days.isFinite else { throw ValidationError("--retention-days must be a positive number of days") }
            server.hub.retention = RetentionPolicy(days: days)
        }

        guard (server.tlsCertificate == nil) == (server.tlsPrivateKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard server.maxFrameBytes > 0, server.outboxLimitBytes > 0 else {
            throw ValidationError("--max-frame-bytes and --outbox-limit-bytes must be positive")
        }
        for (name, value) in [("hello-timeout", server.hub.helloTimeout), ("heartbeat", server.hub.heartbeat),
                              ("presence-grace", server.hub.presenceGrace), ("rate-limit", server.hub.rateLimit),
                              ("snapshot-interval", server.hub.snapshotInterval), ("mod-ttl", server.hub.modTTL),
                              ("ring-timeout", server.hub.ringTimeout), ("call-grace", server.hub.callGrace),
                              ("turn-ttl", server.hub.turnTTL)]
        where !(value > 0) {
            throw ValidationError("--\(name) must be a positive number of seconds")
        }
        return Resolved(server: server, devSecret: secretFlag == nil)
    }

    /// This binary's path as it can be typed from the current directory: relative when below it.
    private static var executablePath: String {
        let path = (Bundle.main.executablePath.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }) ?? "liaison"
        let here = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path
    }

    func printBanner(_ configuration: Resolved, port: Int, tlsPort: Int) {
        let server = configuration.server
        var lines = ["liaison: serving"]
        lines.append("  ws   ws://\(server.host):\(port)/ws")
        if server.tlsPort > 0, server.tlsCertificate != nil {
            lines.append("  wss  wss://\(server.host):\(tlsPort)/ws")
        } else {
            lines.append("  wss  off (give --tls-cert and --tls-key to turn it on)")
        }
        lines.append("  http http://\(server.host):\(port)/  (console)  /healthz  /metrics")
        if server.dev { lines.append("  DEV MODE: /dev/token mints tokens for anyone. Never run like this in production.") }
        lines.append("  data \(server.dataDirectory.path)  (fsync: \(server.hub.fsync.rawValue)\(server.hub.fsync == .never ? ", UNSAFE: acknowledged messages can be lost" : ""))")
        if let retention = server.hub.retention {
            lines.append("  retention: message bodies erased after \(retention.days) days (rooms under room.hold exempt)")
        }
        let secretNote = configuration.devSecret
            ? "dev secret from \(server.dataDirectory.appendingPathComponent(DevSecret.fileName).path)" : "the configured secret"
        lines.append("  mint a token (\(secretNote)):")
        lines.append("    \(Self.executablePath) token --secret '\(configuration.devSecret ? server.jwtSecret : "<secret>")' --sub alice --role msl --tenant acme --name Alice")
        print(lines.joined(separator: "\n"))
        fflush(nil)
    }
}
