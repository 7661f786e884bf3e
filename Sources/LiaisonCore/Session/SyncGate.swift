import Synchronization

/// Holds a session's live `msg` events while its offline replay runs, so a reconnecting device receives
/// the missed messages, then `synced`, then live ones, each room in seq order and without duplicates.
final class SyncGate: Sendable {
    private struct Held {
        let room: String
        let seq: UInt64
        let frame: OutboundFrame
    }

    private let active = Atomic<Bool>(false)
    private let held = Mutex<[Held]?>(nil)

    /// Starts holding live messages.
    func begin() {
        held.withLock { $0 = [] }
        active.store(true, ordering: .releasing)
    }

    /// Holds `frame` if a replay is running; false means the caller sends it as usual.
    func hold(_ frame: OutboundFrame, room: String, seq: UInt64) -> Bool {
        guard active.load(ordering: .acquiring) else { return false }
        return held.withLock { held in
            guard held != nil else { return false }
            held!.append(Held(room: room, seq: seq, frame: frame))
            return true
        }
    }

    /// Ends the replay: sends `synced`, then what was held and not already replayed.
    func end(replayed: [String: UInt64], synced: OutboundFrame, transport: any Transport, peer: any Peer) {
        held.withLock { held in
            transport.send(synced, to: peer)
            for message in held ?? [] where message.seq > replayed[message.room, default: 0] {
                transport.send(message.frame, to: peer)
            }
            held = nil
            active.store(false, ordering: .releasing)
        }
    }
}
