import Foundation

/// Wall-clock time in milliseconds since the Unix epoch, the protocol's `ts`.
public typealias Millis = Int64

public enum WallClock {
    public static func now() -> Millis { Millis((Date().timeIntervalSince1970 * 1000).rounded()) }
}
