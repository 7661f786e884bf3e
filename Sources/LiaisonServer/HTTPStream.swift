import Foundation

/// An HTTP response that another thread produces while the service thread sends it: first its head
/// (status and content type), then body chunks, then its end. The body is sent with chunked transfer
/// coding, so a client can tell a complete response from one cut short.
///
/// The producer blocks while more than `limit` bytes wait to be sent, so a slow client holds memory
/// flat; it gives up (throws `Closed`) once the client is gone or has read nothing for `stallTimeout`,
/// and then aborts the response. The service thread learns of new output through `wake` (which queues
/// a writable request for it).
final class HTTPStream: @unchecked Sendable {
    struct Head {
        let status: UInt32
        let contentType: String
    }

    enum End {
        case complete
        case aborted
    }

    /// The client went away, or stopped reading.
    struct Closed: Error {}

    /// The lws handle; used on the service thread only, and only while `closed` is false.
    let wsi: OpaquePointer
    /// The connection is gone, or the response was sent (service thread only).
    var closed = false

    private let condition = NSCondition()
    // Under `condition`:
    private var head: Head?
    private var headTaken = false
    private var chunks: [[UInt8]] = []
    private var bufferedBytes = 0
    private var end: End?
    /// The connection closed (set by the service thread).
    private var cancelled = false
    /// A wake-up is queued and not yet taken: no need for another.
    private var wakeQueued = false

    private let limit: Int
    private let stallTimeout: TimeInterval
    private let wake: @Sendable (HTTPStream) -> Void

    init(wsi: OpaquePointer, limit: Int = 1 << 20, stallTimeout: TimeInterval = 60,
         wake: @escaping @Sendable (HTTPStream) -> Void) {
        self.wsi = wsi
        self.limit = limit
        self.stallTimeout = stallTimeout
        self.wake = wake
    }

    // MARK: Producer (any thread)

    /// Sets the status and content type; call once, before any body.
    func begin(status: UInt32, contentType: String) {
        update { $0.head = Head(status: status, contentType: contentType) }
    }

    /// Queues `bytes` of body; waits while the client is behind. Throws `Closed` when it is gone or stalled.
    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        condition.lock()
        let deadline = Date(timeIntervalSinceNow: stallTimeout)
        var stalled = false
        while bufferedBytes > limit, !cancelled, !stalled {
            stalled = !condition.wait(until: deadline)
        }
        guard !cancelled, !stalled else {
            condition.unlock()
            throw Closed()
        }
        chunks.append(bytes)
        bufferedBytes += bytes.count
        let wakeNow = takeWake()
        condition.unlock()
        if wakeNow { wake(self) }
    }

    /// Ends the body: `complete`, or `aborted` to drop what is not yet sent and close the connection
    /// with the body unfinished (the client sees a truncated response).
    func finish(_ how: End = .complete) {
        update { stream in
            stream.end = how
            if how == .aborted {
                stream.chunks = []
                stream.bufferedBytes = 0
            }
        }
    }

    /// A whole response at once (errors).
    func respond(status: UInt32, contentType: String, body: [UInt8]) {
        update { stream in
            stream.head = Head(status: status, contentType: contentType)
            stream.chunks.append(body)
            stream.bufferedBytes += body.count
            stream.end = .complete
        }
    }

    private func update(_ change: (HTTPStream) -> Void) {
        condition.lock()
        change(self)
        let wakeNow = takeWake()
        condition.unlock()
        if wakeNow { wake(self) }
    }

    /// Under the lock: whether to queue a wake-up (none is queued yet).
    private func takeWake() -> Bool {
        guard !wakeQueued, !cancelled else { return false }
        wakeQueued = true
        return true
    }

    // MARK: Service thread

    /// Whether the head was taken (then body may follow).
    var headSent: Bool {
        condition.lock()
        defer { condition.unlock() }
        return headTaken
    }

    /// The head, once set and not yet taken.
    func takeHead() -> Head? {
        condition.lock()
        defer { condition.unlock() }
        wakeQueued = false
        guard !headTaken, let head else { return nil }
        headTaken = true
        return head
    }

    /// The next body chunk (nil if none is waiting), and how the body ends if nothing follows it.
    func takeBody() -> (chunk: [UInt8]?, end: End?) {
        condition.lock()
        defer { condition.unlock() }
        wakeQueued = false
        var chunk: [UInt8]?
        if !chunks.isEmpty {
            chunk = chunks.removeFirst()
            bufferedBytes -= chunk!.count
            condition.broadcast()
        }
        return (chunk, chunks.isEmpty ? end : nil)
    }

    /// The response was aborted: the connection is to be closed, whether or not the client reads.
    var isAborted: Bool {
        condition.lock()
        defer { condition.unlock() }
        return end == .aborted
    }

    /// Whether body or its end is waiting to be taken.
    var hasBody: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !chunks.isEmpty || end != nil
    }

    /// The connection closed: the producer stops at its next write.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
