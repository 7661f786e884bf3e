import Synchronization
import LiaisonSync

/// Holds a session's live `msg` events while its offline replay runs, so a reconnecting device receives
/// the missed messages, then `synced`, then live ones, each room in seq order and without duplicates.
///
/// What it holds is bounded: past `limit` bytes it drops everything held and tells the replay to read
/// the rooms again (every held message is durable in its room, so nothing is lost, only re-read). The
/// replay releases what is held in chunks, paced by the connection's backlog, and the gate opens only
/// once nothing is left, so live messages never overtake held ones.
final class SyncGate: Sendable {
    struct Held {
        let room: String
        let seq: UInt64
        let frame: OutboundFrame
    }

    private struct Holding {
        var frames: [Held] = []
        var bytes = 0
        var overflowed = false
    }

    /// What the replay does next.
    enum Step {
        /// Send these (those above what was replayed), then ask again.
        case release([Held])
        /// Messages were dropped past the bound: read the rooms again from what was sent.
        case replayAgain
        /// Nothing is held any more: the gate is open.
        case open
    }

    private let limit: Int
    private let active = Atomic<Bool>(false)
    private let holding = Locked<Holding?>(nil)

    /// - Parameter limit: the most bytes of frames held at once.
    init(limit: Int) {
        self.limit = limit
    }

    /// Starts holding live messages.
    func begin() {
        holding.withLock { $0 = Holding() }
        active.store(true, ordering: .releasing)
    }

    /// Holds `frame` if a replay is running; false means the caller sends it as usual.
    func hold(_ frame: OutboundFrame, room: String, seq: UInt64) -> Bool {
        guard active.load(ordering: .acquiring) else { return false }
        return holding.withLock { holding in
            guard holding != nil else { return false }
            guard !holding!.overflowed else { return true }
            if holding!.bytes + frame.count > limit {
                holding = Holding(overflowed: true)
                return true
            }
            holding!.frames.append(Held(room: room, seq: seq, frame: frame))
            holding!.bytes += frame.count
            return true
        }
    }

    /// The next step of the release: up to `bytes` of held frames (at least one), a re-read, or open.
    func next(upTo bytes: Int) -> Step {
        holding.withLock { holding in
            guard var current = holding else { return .open }
            if current.overflowed {
                holding = Holding()
                return .replayAgain
            }
            guard !current.frames.isEmpty else {
                holding = nil
                active.store(false, ordering: .releasing)
                return .open
            }
            var taken = 0
            var size = 0
            while taken < current.frames.count, taken == 0 || size + current.frames[taken].frame.count <= bytes {
                size += current.frames[taken].frame.count
                taken += 1
            }
            let chunk = Array(current.frames.prefix(taken))
            current.frames.removeFirst(taken)
            current.bytes -= size
            holding = current
            return .release(chunk)
        }
    }

    /// Stops holding (the session ended): whatever is held is dropped.
    func close() {
        holding.withLock { holding in
            holding = nil
            active.store(false, ordering: .releasing)
        }
    }
}
