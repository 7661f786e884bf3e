import ArgumentParser
import LiaisonCore
import LiaisonServer

/// `serve`'s flags for push notifications to devices that are not connected (Matrix Push Gateway API).
struct PushOptions: ParsableArguments {
    @Option(help: "A push gateway clients may register with, NAME=URL; repeatable (LIAISON_PUSH_GATEWAYS, comma-separated).")
    var pushGateway: [String] = []
    @Option(help: "Seconds a message waits before it is pushed, coalescing with later ones (LIAISON_PUSH_DELAY; default 3).") var pushDelay: Double?
    @Option(help: "minimal (no message body, question or names) or full (LIAISON_PUSH_CONTENT; default minimal).") var pushContent: String?
    @Option(help: "Pushers one device may have (LIAISON_PUSH_PUSHERS_PER_DEVICE; default 10).") var pushPushersPerDevice: Int?
    @Option(help: "Notifications under way or waiting to be retried; beyond this the oldest is dropped (LIAISON_PUSH_QUEUE; default 10000).") var pushQueue: Int?

    /// Applies these flags (or their LIAISON_ variables) to `push`.
    func apply(to push: inout PushConfiguration) throws {
        let pairs = pushGateway.isEmpty
            ? (Environment.value(for: "push-gateways") ?? "").split(separator: ",").map(String.init) : pushGateway
        for pair in pairs.map({ $0.trimmingCharacters(in: .whitespaces) }) where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64,
                  parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://") else {
                throw ValidationError("--push-gateway must be NAME=URL with a name of 1 to 64 characters and an http(s) URL, not '\(pair)'")
            }
            guard push.gateways.updateValue(parts[1], forKey: parts[0]) == nil else {
                throw ValidationError("--push-gateway names must be unique: '\(parts[0])' is given twice")
            }
        }
        push.delay = try Environment.resolve(pushDelay, "push-delay", 3) { Double($0) }
        guard push.delay >= 0 else { throw ValidationError("--push-delay must not be negative") }
        switch try Environment.resolve(pushContent, "push-content", "minimal", parse: { $0 }) {
        case "minimal": push.fullContent = false
        case "full": push.fullContent = true
        default: throw ValidationError("--push-content must be minimal or full")
        }
        push.pushersPerDevice = try Environment.resolve(pushPushersPerDevice, "push-pushers-per-device", 10) { Int($0) }
        push.queueLimit = try Environment.resolve(pushQueue, "push-queue", 10000) { Int($0) }
        guard push.pushersPerDevice > 0, push.queueLimit > 0 else {
            throw ValidationError("--push-pushers-per-device and --push-queue must be positive")
        }
    }
}
