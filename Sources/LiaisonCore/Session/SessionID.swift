import Synchronization

/// Identifies one connection's session for as long as the process runs (never reused).
public struct SessionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let raw: UInt64

    public init(raw: UInt64) { self.raw = raw }

    private static let counter = Atomic<UInt64>(0)

    /// A fresh id.
    public static func next() -> SessionID {
        SessionID(raw: counter.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    public static func < (lhs: SessionID, rhs: SessionID) -> Bool { lhs.raw < rhs.raw }

    public var description: String { "s\(raw)" }
}
