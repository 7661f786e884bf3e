#if canImport(Glibc)
import Glibc
#endif

/// Byte-level reading of inbound frames without parsing them: the hot scenarios see hundreds of
/// thousands of frames a second on one thread, so they look for a few known keys instead.
///
/// Server frames are compact JSON (`"key":value`, no spaces); a frame these helpers cannot read is
/// handed to the full parser by the caller.
enum RawScan {
    /// Offset of the first occurrence of `needle` in `bytes` at or after `from`, or nil.
    @inline(__always)
    static func find(_ needle: StaticString, in bytes: UnsafeRawBufferPointer, from: Int = 0) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard let base = bytes.baseAddress, n > 0, from >= 0, from + n <= bytes.count else { return nil }
        let first = Int32(needle.utf8Start.pointee)
        var i = from
        while i + n <= bytes.count {
            guard let hit = memchr(base + i, first, bytes.count - n + 1 - i) else { return nil }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(hit, needle.utf8Start, n) == 0 { return at }
            i = at + 1
        }
        return nil
    }

    /// Whether `bytes` contains `needle`.
    @inline(__always)
    static func contains(_ needle: StaticString, in bytes: UnsafeRawBufferPointer) -> Bool {
        find(needle, in: bytes) != nil
    }

    /// The unsigned decimal number right after `key` (e.g. `"seq":`), or nil.
    @inline(__always)
    static func number(after key: StaticString, in bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard let at = find(key, in: bytes) else { return nil }
        return decimal(in: bytes, at: at + key.utf8CodeUnitCount).map(\.value)
    }

    /// The string value right after `key` (e.g. `"id":"`, up to the closing quote), or nil.
    static func string(after key: StaticString, in bytes: UnsafeRawBufferPointer) -> String? {
        guard let at = find(key, in: bytes) else { return nil }
        let start = at + key.utf8CodeUnitCount
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
            if bytes[end] == UInt8(ascii: "\\") { return nil }
            end += 1
        }
        guard end < bytes.count else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// An unsigned decimal number starting at `offset`: its value and the offset after it.
    @inline(__always)
    static func decimal(in bytes: UnsafeRawBufferPointer, at offset: Int) -> (value: UInt64, end: Int)? {
        var i = offset
        var value: UInt64 = 0
        while i < bytes.count {
            let c = bytes[i]
            guard c >= 48 && c <= 57 else { break }
            value = value &* 10 &+ UInt64(c - 48)
            i += 1
        }
        return i > offset ? (value, i) : nil
    }
}

/// The stamp every measured payload carries (a chat body, a presence note, a MOD question, a
/// mirrored frame): `lt1 <stream> <number> <sent-at-ns> ` then padding. `stream` tells senders
/// apart; `sent-at-ns` is this process's monotonic clock, so latency is receipt time minus it.
struct Stamp: Equatable {
    var stream: UInt64
    var number: UInt64
    var sentAt: UInt64

    static let prefix: StaticString = "lt1 "

    /// The text, padded with `x` to at least `size` bytes.
    func text(size: Int = 0) -> String {
        var s = "lt1 \(stream) \(number) \(sentAt) "
        if s.utf8.count < size { s += String(repeating: "x", count: size - s.utf8.count) }
        return s
    }

    /// Reads the first stamp in `bytes`, or nil.
    @inline(__always)
    static func read(_ bytes: UnsafeRawBufferPointer) -> Stamp? {
        guard let at = RawScan.find(prefix, in: bytes) else { return nil }
        var i = at + prefix.utf8CodeUnitCount
        guard let stream = RawScan.decimal(in: bytes, at: i) else { return nil }
        i = stream.end + 1
        guard let number = RawScan.decimal(in: bytes, at: i) else { return nil }
        i = number.end + 1
        guard let sent = RawScan.decimal(in: bytes, at: i) else { return nil }
        return Stamp(stream: stream.value, number: number.value, sentAt: sent.value)
    }
}
