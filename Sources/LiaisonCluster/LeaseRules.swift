/// When a node may take the cluster's lease and when its holder must give it up, decided from what the
/// node observes of the lease's key-value entry and its own clock; no I/O.
///
/// The holder renews every third of `duration`. A standby takes the lease over once the entry's revision
/// has not moved for a whole `duration` (measured on its own monotonic clock from when it first saw that
/// revision). A holder cut off from the bus cannot renew, but cannot write either: its journal is fenced
/// by JetStream's expected last sequence, so once a standby has taken over, the old holder's next write is
/// refused and it stops.
public struct LeaseRules: Sendable {
    public let duration: Duration

    public init(duration: Duration) {
        self.duration = duration
    }

    /// How often the holder renews, and a standby looks.
    public var renewInterval: Duration { duration / 3 }
    public var lookInterval: Duration { min(duration / 6, .milliseconds(250)) }

    /// What a standby does after looking at the lease's entry.
    public enum Move: Equatable, Sendable {
        /// Nobody holds it: create the entry.
        case create
        /// Its holder stopped renewing: write over `revision`.
        case takeOver(revision: UInt64)
        /// Its holder is alive (or may still be): look again later.
        case wait
    }

    /// A standby's view of the entry: the revision it last saw and since when it has seen it unchanged.
    public struct Watch: Sendable {
        var revision: UInt64?
        var since: ContinuousClock.Instant?

        public init() {}
    }

    /// The standby's move on seeing the entry at `revision` (nil: no entry) at `now`.
    public func move(seeing revision: UInt64?, at now: ContinuousClock.Instant, watch: inout Watch) -> Move {
        guard let revision else {
            watch = Watch()
            return .create
        }
        if watch.revision != revision || watch.since == nil {
            watch = Watch(revision: revision, since: now)
            return .wait
        }
        return now - watch.since! >= duration ? .takeOver(revision: revision) : .wait
    }
}

extension LeaseRules.Watch {
    init(revision: UInt64?, since: ContinuousClock.Instant?) {
        self.revision = revision
        self.since = since
    }
}
