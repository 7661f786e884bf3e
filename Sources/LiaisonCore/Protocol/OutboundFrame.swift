import Foundation

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

    /// Copies `payload` into a new buffer behind the headroom.
    public init(payload: some Collection<UInt8>) {
        storage = .allocate(byteCount: Self.headroom + payload.count, alignment: 16)
        UnsafeMutableRawBufferPointer(rebasing: storage[Self.headroom...]).copyBytes(from: payload)
    }

    deinit { storage.deallocate() }

    /// The payload, for tests and logs.
    public var payload: Data { Data(storage[Self.headroom...]) }

    /// A pointer to the payload, for the transport.
    public var payloadStart: UnsafeMutableRawPointer { storage.baseAddress! + Self.headroom }
}
