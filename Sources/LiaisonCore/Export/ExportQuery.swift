import Foundation

/// What an interaction record covers: one tenant, optionally one user's interactions, one room, a time
/// window; and whether message bodies are included or only their SHA-256.
public struct ExportQuery: Sendable, Equatable {
    /// Message bodies in the record.
    public enum Bodies: String, Sendable, CaseIterable {
        /// The stored body (or a tombstone's status once retention erased it).
        case include
        /// Only the SHA-256 the audit trail holds: nothing but the trail is read for messages.
        case hash
    }

    public var tenant: String
    /// Only interactions this user took part in (see `InteractionRecord.parties`).
    public var user: String?
    /// Only interactions in this room.
    public var room: String?
    /// Only records at or after this time (ms since 1970).
    public var since: Millis?
    /// Only records before this time (ms since 1970).
    public var until: Millis?
    public var bodies: Bodies

    public init(tenant: String, user: String? = nil, room: String? = nil, since: Millis? = nil, until: Millis? = nil,
                bodies: Bodies = .include) {
        self.tenant = tenant
        self.user = user
        self.room = room
        self.since = since
        self.until = until
        self.bodies = bodies
    }

    /// Whether a record passes the filters.
    func selects(_ record: InteractionRecord) -> Bool {
        if let since, record.ts < since { return false }
        if let until, record.ts >= until { return false }
        if let room, record.room != room { return false }
        if let user, !record.parties.contains(user) { return false }
        return true
    }
}

/// The formats of an interaction record.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// One JSON object a line.
    case jsonl
    /// RFC 4180 CSV with a header row.
    case csv
}

/// ISO 8601 times as the export reads and writes them.
public enum ExportTime {
    /// `2026-03-01T09:30:00Z`, with optional fractional seconds and any UTC offset, or a date
    /// (`2026-03-01`, midnight UTC); nil for anything else.
    public static func parse(_ text: String) -> Millis? {
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return Millis((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        return nil
    }

    /// `2026-03-01T09:30:00.123Z`.
    static func format(_ millis: Millis) -> String {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text: [UInt8] = []
        text.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        text.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        text.append(UInt8(ascii: "."))
        digits(Int(millis - seconds * 1000), 3)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}
