/// Message retention (`liaison serve --retention-days N`): at each snapshot, the bodies of archived
/// messages sent more than `days` ago are erased, oldest first, leaving tombstones (`kind: erased`,
/// seq and body sha256 kept), except in rooms under legal hold. The audit trail is never erased.
public struct RetentionPolicy: Sendable, Equatable {
    /// Days a message body is kept; fractions are allowed (0.0001 ≈ 8.6 s, for tests).
    public var days: Double
    /// Messages one room erases per snapshot at most; the rest go at the next snapshots.
    public var batchLimit = 10_000

    public init(days: Double) {
        self.days = days
    }

    /// Messages sent before this are due for erasure at `now`.
    public func cutoff(now: Millis) -> Millis {
        now - Millis((days * 86_400_000).rounded())
    }
}
