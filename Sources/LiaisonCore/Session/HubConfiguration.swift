/// The limits and timings of the domain. Durations are in seconds.
public struct HubConfiguration: Sendable {
    /// Close a connection that has not said `hello` within this time (4401).
    public var helloTimeout: Double = 10
    /// Ping interval announced in `hello`'s reply; the transport drops peers silent for twice this.
    public var heartbeat: Double = 30
    /// How long a user whose last device left stays as they were before going `offline`.
    public var presenceGrace: Double = 10
    /// Requests per second per connection; bursts up to twice this.
    public var rateLimit: Double = 50
    /// Seconds between snapshots of changed rooms.
    public var snapshotInterval: Double = 5
    /// When journal appends are synced before acknowledgement.
    public var fsync: FsyncMode = .batch
    /// Archived messages a room keeps in memory (unarchived ones are always kept).
    public var roomMemoryMessages = 1000
    /// Erasure of old message bodies at snapshots; nil keeps everything.
    public var retention: RetentionPolicy?
    /// Seconds a MOD request stays open without a claim, unless it says otherwise (`ttl_s`).
    public var modTTL: Double = 120
    /// Seconds a call rings before it ends with `timeout`.
    public var ringTimeout: Double = 45
    /// Seconds a call waits for a device of it that went away.
    public var callGrace: Double = 20
    /// TURN servers handed out by `turn.credentials`, and the secret shared with them (TURN REST API).
    public var turnURLs: [String] = []
    public var turnSecret: String?
    /// Seconds TURN credentials stay valid.
    public var turnTTL: Double = 86400
    /// Minutes before a meeting's start its reminder goes out.
    public var meetingReminder: Double = 10
    /// Minutes after a meeting's end its call may still start; then it is decided `held` or `missed`.
    public var meetingLate: Double = 60
    /// File sharing: size and type limits, the data keys.
    public var files = FilesConfiguration()
    /// Push gateways and notifications to devices that are not connected.
    public var push = PushConfiguration()
    /// Role rules.
    public var policy: Policy = .default

    public init() {}
}
