import Foundation

/// Retention's work on a room's archive, on the storage queue. An erasure takes the oldest archived
/// messages older than a cutoff, in seq order, and
/// 1. appends their tombstones to `erased.log`/`erased.idx` and syncs them — from then on they are
///    erased: every reader serves the tombstone;
/// 2. overwrites the records in `messages.log` in place (same lengths, spaces) and syncs it;
/// 3. is committed by the next `meta.json` (`erasedThrough`).
/// A crash between 1 and 3 leaves tombstones beyond `erasedThrough`: `finishErasure` overwrites those
/// records again (it is idempotent) before anything else touches the room.
extension RoomArchive {
    /// The messages one erasure takes and their tombstones.
    struct ErasurePlan: Sendable {
        let tombstones: [StoredMessage]
        /// The `ts` of the first archived message it leaves (nil when it reached the end of the archive).
        let nextTs: Millis?
        /// Every message up to here is erased once the plan is committed.
        let through: UInt64

        var range: ClosedRange<UInt64>? {
            guard let first = tombstones.first, let last = tombstones.last else { return nil }
            return first.seq...last.seq
        }
    }

    /// Reads archived messages after `erasedThrough` up to `archivedThrough`, at most `limit`, and plans
    /// the erasure of those sent before `cutoff`.
    func planErasure(after erasedThrough: UInt64, through archivedThrough: UInt64, before cutoff: Millis, limit: Int,
                     now: Millis) throws -> ErasurePlan {
        guard erasedThrough < archivedThrough, limit > 0 else {
            return ErasurePlan(tombstones: [], nextTs: nil, through: erasedThrough)
        }
        let last = min(archivedThrough, erasedThrough + UInt64(limit))
        let decoder = JSONDecoder()
        var tombstones: [StoredMessage] = []
        var expected = erasedThrough + 1
        while expected <= last {
            let page = expected...min(last, expected + Self.erasurePage - 1)
            for payload in try messages.read(page) {
                guard let event = try? decoder.decode(MessageEvent.self, from: payload), event.seq == expected else {
                    throw IndexedLogError.missingRecord(expected)
                }
                guard event.ts < cutoff else {
                    return ErasurePlan(tombstones: tombstones, nextTs: event.ts, through: expected - 1)
                }
                let frame = FrameEncoder.event(event.tombstone(erasedAt: now))
                tombstones.append(StoredMessage(seq: event.seq, from: event.from, clientMsgID: event.clientMsgID,
                                                ts: event.ts, frame: frame))
                expected += 1
            }
            guard expected > page.upperBound else { throw IndexedLogError.missingRecord(expected) }
        }
        return ErasurePlan(tombstones: tombstones, nextTs: nil, through: last)
    }

    /// Messages read from the archive at a time while planning.
    static let erasurePage: UInt64 = 512

    /// Steps 1 and 2 of `plan` (which follows `erasedThrough`).
    func commit(_ plan: ErasurePlan, after erasedThrough: UInt64) throws {
        guard let range = plan.range else { return }
        try tombstones.append(plan.tombstones.map(\.frame), after: erasedThrough)
        try messages.scrub(range)
    }

    /// Completes an erasure a crash interrupted after its tombstones were synced: overwrites the records
    /// after `erasedThrough` that have tombstones. Returns the seq erased through.
    func finishErasure(after erasedThrough: UInt64) throws -> UInt64 {
        let erased = try tombstones.count()
        guard erased > erasedThrough else { return erasedThrough }
        try messages.scrub((erasedThrough + 1)...erased)
        return erased
    }
}
