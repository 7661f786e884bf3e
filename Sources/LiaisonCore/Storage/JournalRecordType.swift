import Foundation

/// A cheap look at a journal record before decoding it: whether its bytes hold `"type":"NAME"` (as
/// `JSONEncoder` and `FrameEncoder` write it). Replaying a cluster's whole journal, every service looks
/// at every record: a byte search per record costs a fraction of a failed decode.
enum JournalRecordType {
    /// Whether `record` may be of type `name` (false: it is certainly not).
    static func may(_ record: Data, be name: String) -> Bool {
        record.range(of: Data("\"type\":\"\(name)\"".utf8)) != nil
    }

    /// Whether `record` may be of a type starting with `prefix` (`"meeting."`).
    static func may(_ record: Data, startWith prefix: String) -> Bool {
        record.range(of: Data("\"type\":\"\(prefix)".utf8)) != nil
    }
}
