import Foundation
import Synchronization

/// One encoded text frame, shared by every recipient of an event.
///
/// The payload sits after `headroom` spare bytes, where the transport writes the WebSocket header in
/// place (libwebsockets needs `LWS_PRE` of them). It is written to the wire only on the transport's
/// thread, one recipient after another, which is what makes sharing it safe.
public final class OutboundFrame: @unchecked Sendable {
    /// Spare bytes before every payload; the transport checks it covers what it needs.
    public static let headroom = 16

    /// The buffer: `headroom` spare bytes, then the payload.
    public let storage: UnsafeMutableRawBufferPointer

    public var count: Int { storage.count - Self.headroom }
    /// A binary frame (only the echo endpoint sends them); the protocol's frames are text.
    public let isBinary: Bool

    /// When the frame was made: the start of its fan-out's time.
    private let madeAt = ContinuousClock.now
    /// Deliveries of a broadcast not yet written to their sockets (or dropped).
    private let unwritten = Atomic<Int>(0)

    /// Copies `payload` into a new buffer behind the headroom.
    public init(payload: some Collection<UInt8>, binary: Bool = false) {
        isBinary = binary
        storage = .allocate(byteCount: Self.headroom + payload.count, alignment: 16)
        UnsafeMutableRawBufferPointer(rebasing: storage[Self.headroom...]).copyBytes(from: payload)
    }

    /// `count` more recipients of a broadcast: once each is written (or dropped), the time since the
    /// frame was made goes to `liaison_fanout_duration_seconds`.
    func expectDeliveries(_ count: Int) {
        unwritten.add(count, ordering: .relaxed)
    }

    /// The transport wrote this frame to one recipient's socket, or dropped that recipient's copy.
    public func deliveryFinished() {
        guard unwritten.load(ordering: .relaxed) > 0 else { return }
        if unwritten.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            Instruments.fanout.recordNanoseconds((ContinuousClock.now - madeAt).nanoseconds)
        }
    }

    deinit { storage.deallocate() }

    /// The payload, for tests and logs.
    public var payload: Data { Data(storage[Self.headroom...]) }

    /// A pointer to the payload, for the transport.
    public var payloadStart: UnsafeMutableRawPointer { storage.baseAddress! + Self.headroom }
}
