import LiaisonCore
import Synchronization

/// One WebSocket connection as the transport holds it.
///
/// All stored properties but `session` are touched only on the libwebsockets service thread;
/// other threads reach a connection only through `OutboundQueue`.
final class Connection: Peer, @unchecked Sendable {
    /// The lws handle; valid until `closed`.
    let wsi: OpaquePointer
    /// Where this connection's input goes: its session (which refers back to the connection weakly), or in
    /// cluster mode a relay to the session on the active node; nil on the echo path, where every message
    /// goes back as it came.
    private(set) var session: (any SessionEndpoint)?

    /// Connections alive in this process (created and not yet freed): what a leak test watches.
    static var liveCount: Int { live.load(ordering: .relaxed) }
    private static let live = Atomic<Int>(0)

    /// Bytes queued for this connection anywhere (the shared queue or the outbox), readable from any
    /// thread: what a sender paces itself by.
    let backlog = Atomic<Int>(0)

    /// Frames waiting for the socket, oldest first, from `outboxHead` on.
    private var outbox: [OutboundFrame] = []
    private var outboxHead = 0
    private(set) var outboxBytes = 0

    /// permessage-deflate was negotiated: lws compresses each write, so frames are written one by one.
    var compressed = false
    /// The frame lws may still be compressing (permessage-deflate drains a large message over several
    /// writable turns, reading from the frame's buffer): kept alive until the next writable callback.
    var compressing: OutboundFrame?

    /// A close to perform once the outbox is written.
    var pendingClose: (code: CloseCode, reason: String)?
    /// The socket is gone; nothing more is written.
    var closed = false

    /// A message arriving in fragments, until its final one.
    var partialMessage: [UInt8] = []
    var partialIsBinary = false
    /// An oversize message was refused: what else arrives is read and dropped, so the socket is not
    /// reset under unread data before the client has read the close frame (1009).
    var discarding: Discarding?

    enum Discarding {
        /// The close is under way; drop everything until the client's close.
        case untilClosed
        /// The message comes in fragments: drop them, and close after its last one (lws resets a
        /// connection that sends more data frames once its close is sent).
        case untilMessageEnds
    }

    /// A connection for `wsi` with an endpoint `sessions` opens for it; or, with `echo`, without one.
    init(wsi: OpaquePointer, sessions: any SessionOpener, echo: Bool = false) {
        self.wsi = wsi
        Self.live.add(1, ordering: .relaxed)
        if !echo { session = sessions.open(self) }
    }

    deinit { Self.live.subtract(1, ordering: .relaxed) }

    var hasOutput: Bool { outboxHead < outbox.count || pendingClose != nil }

    func enqueue(_ frame: OutboundFrame) {
        outbox.append(frame)
        outboxBytes += frame.count
    }

    /// Frames waiting in the outbox.
    var queuedFrames: Int { outbox.count - outboxHead }

    /// The next frame to write, left in the outbox.
    func peek() -> OutboundFrame? {
        outboxHead < outbox.count ? outbox[outboxHead] : nil
    }

    /// The next frame to write, removed from the outbox.
    func dequeue() -> OutboundFrame? {
        guard outboxHead < outbox.count else { return nil }
        let frame = outbox[outboxHead]
        outboxHead += 1
        outboxBytes -= frame.count
        backlog.subtract(frame.count, ordering: .relaxed)
        if outboxHead == outbox.count {
            outbox.removeAll(keepingCapacity: false)
            outboxHead = 0
        }
        return frame
    }

    /// Drops whatever is queued (a slow consumer being closed).
    func discardOutbox() {
        backlog.subtract(outboxBytes, ordering: .relaxed)
        for frame in outbox[outboxHead...] { frame.deliveryFinished() }
        outbox.removeAll()
        outboxHead = 0
        outboxBytes = 0
    }
}
