import Foundation

/// A cheap look at a journal record before decoding it: whether its bytes hold `"type":"NAME"` (as
/// `JSONEncoder` and `FrameEncoder` write it). Replaying a cluster's whole journal, every service looks
/// at every record: a byte search per record costs a fraction of a failed decode.
enum JournalRecordType {
    /// Whether `record` may be of type `name` (false: it is certainly not).
    static func may(_ record: Data, be name: String) -> Bool {
        record.contains(bytes: "\"type\":\"\(name)\"", colonAt: 6)
    }

    /// Whether `record` may be of a type starting with `prefix` (`"meeting."`).
    static func may(_ record: Data, startWith prefix: String) -> Bool {
        record.contains(bytes: "\"type\":\"\(prefix)", colonAt: 6)
    }
}

extension Data {
    /// Whether these bytes hold `needle`'s UTF-8 bytes, where `needle` has a colon at `anchor`: memchr to each
    /// colon (one per JSON member, where quotes are four), then memcmp around it. `Data.range(of:)` compares a
    /// byte at a time, and was a seventh of a takeover's replay.
    fileprivate func contains(bytes needle: String, colonAt anchor: Int) -> Bool {
        var needle = needle
        return needle.withUTF8 { needle in
            withUnsafeBytes { haystack in
                guard let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
                var colon = anchor
                let lastColon = haystack.count - needle.count + anchor
                while colon <= lastColon {
                    guard let found = memchr(base + colon, Int32(UInt8(ascii: ":")), lastColon - colon + 1) else { return false }
                    colon = base.distance(to: UnsafeRawPointer(found))
                    if memcmp(base + colon - anchor, needle.baseAddress!, needle.count) == 0 { return true }
                    colon += 1
                }
                return false
            }
        }
    }
}
