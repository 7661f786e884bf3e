/// Push gateways and how notifications to devices that are not connected are sent.
public struct PushConfiguration: Sendable {
    /// Gateway URL by the name clients register with (`--push-gateway NAME=URL`).
    public var gateways: [String: String] = [:]
    /// Seconds a message waits for more to coalesce with, or for being read elsewhere.
    public var delay: Double = 3
    /// Message bodies, questions and display names in notifications (`--push-content full`); off by default.
    public var fullContent = false
    public var pushersPerDevice = 10
    /// Notifications waiting to be (re)tried; beyond this the oldest is dropped.
    public var queueLimit = 10_000
    /// Seconds a message stays worth notifying (retries stop after).
    public var messageFreshness: Double = 3600

    public init() {}

    /// The notify endpoint of a configured gateway URL.
    static func notifyURL(_ base: String) -> String {
        let path = "/_matrix/push/v1/notify"
        if base.hasSuffix(path) { return base }
        return (base.hasSuffix("/") ? String(base.dropLast()) : base) + path
    }
}
