import Foundation

/// RFC 5545 text for a user's meetings: a VEVENT per meeting with `DTSTART;TZID=` in the organizer's
/// zone, a VTIMEZONE for each zone used (its offsets and daylight-saving transitions over the years the
/// meetings span), ATTENDEE with PARTSTAT, STATUS:CANCELLED for cancelled ones. CRLF line ends, lines
/// folded at 75 octets, TEXT values escaped.
enum ICalendar {
    static func render(_ meetings: [Meeting], for user: String, now: Date = Date()) -> String {
        var lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Liaison//Meetings//EN", "CALSCALE:GREGORIAN",
                     "METHOD:PUBLISH", "X-WR-CALNAME:Liaison meetings"]
        let zones = Dictionary(grouping: meetings, by: \.tz)
        for (zone, inZone) in zones.sorted(by: { $0.key < $1.key }) {
            guard let timeZone = TimeZone(identifier: zone) else { continue }
            let starts = inZone.map { date($0.startsAt) }
            lines += timezone(timeZone, from: starts.min()!, to: inZone.map { date($0.endsAt) }.max()!)
        }
        let stamp = utc(now)
        for meeting in meetings {
            guard let timeZone = TimeZone(identifier: meeting.tz) else { continue }
            lines += ["BEGIN:VEVENT", "UID:\(meeting.id)@liaison", "DTSTAMP:\(stamp)",
                      "DTSTART;TZID=\(meeting.tz):\(local(date(meeting.startsAt), in: timeZone))",
                      "DTEND;TZID=\(meeting.tz):\(local(date(meeting.endsAt), in: timeZone))",
                      "SUMMARY:\(text(meeting.title))"]
            if let agenda = meeting.agenda, !agenda.isEmpty { lines.append("DESCRIPTION:\(text(agenda))") }
            if let organizer = meeting.attendee(meeting.organizer) {
                lines.append("ORGANIZER;CN=\(parameter(organizer.name)):urn:liaison:user:\(uri(organizer.user))")
            }
            for attendee in meeting.attendees where attendee.user != meeting.organizer {
                lines.append("ATTENDEE;CN=\(parameter(attendee.name));PARTSTAT=\(partstat(attendee.rsvp)):"
                    + "urn:liaison:user:\(uri(attendee.user))")
            }
            lines.append("STATUS:\(meeting.status == .cancelled ? "CANCELLED" : "CONFIRMED")")
            lines.append("END:VEVENT")
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// A VTIMEZONE: STANDARD/DAYLIGHT observances for each transition from a year before `from` to a year
    /// after `to`; a zone without transitions gets one STANDARD observance.
    static func timezone(_ zone: TimeZone, from: Date, to: Date) -> [String] {
        var lines = ["BEGIN:VTIMEZONE", "TZID:\(zone.identifier)"]
        let start = from.addingTimeInterval(-366 * 86400)
        let end = to.addingTimeInterval(366 * 86400)
        var transitions: [Date] = []
        var cursor = start
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < end {
            transitions.append(next)
            cursor = next
        }
        if transitions.isEmpty {
            let offset = offsetText(zone.secondsFromGMT(for: from))
            lines += ["BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:\(offset)", "TZOFFSETTO:\(offset)",
                      "TZNAME:\(zone.abbreviation(for: from) ?? zone.identifier)", "END:STANDARD"]
        } else {
            for transition in transitions {
                let before = zone.secondsFromGMT(for: transition.addingTimeInterval(-1))
                let after = zone.secondsFromGMT(for: transition)
                let kind = zone.isDaylightSavingTime(for: transition) ? "DAYLIGHT" : "STANDARD"
                // DTSTART of an observance is local time before the change (RFC 5545 §3.6.5).
                let localStart = transition.addingTimeInterval(TimeInterval(before))
                lines += ["BEGIN:\(kind)", "DTSTART:\(floating(localStart))", "TZOFFSETFROM:\(offsetText(before))",
                          "TZOFFSETTO:\(offsetText(after))", "TZNAME:\(zone.abbreviation(for: transition) ?? kind)",
                          "END:\(kind)"]
            }
        }
        lines.append("END:VTIMEZONE")
        return lines
    }

    static func date(_ millis: Millis) -> Date { Date(timeIntervalSince1970: TimeInterval(millis) / 1000) }

    static func utc(_ date: Date) -> String { format(date, in: TimeZone(identifier: "UTC")!) + "Z" }

    static func local(_ date: Date, in zone: TimeZone) -> String { format(date, in: zone) }

    /// A date already shifted to local time, written without a zone.
    private static func floating(_ date: Date) -> String { format(date, in: TimeZone(identifier: "UTC")!) }

    private static func format(_ date: Date, in zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    static func offsetText(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let magnitude = abs(seconds)
        return String(format: "%@%02d%02d", sign, magnitude / 3600, (magnitude % 3600) / 60)
    }

    private static func partstat(_ rsvp: Meeting.RSVP) -> String {
        switch rsvp {
        case .pending: "NEEDS-ACTION"
        case .accepted: "ACCEPTED"
        case .declined: "DECLINED"
        case .tentative: "TENTATIVE"
        }
    }

    /// TEXT escaping (RFC 5545 §3.3.11).
    static func text(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ";", with: "\\;")
            .replacingOccurrences(of: ",", with: "\\,").replacingOccurrences(of: "\r\n", with: "\\n")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A parameter value: quoted, without the characters a quoted value may not hold.
    private static func parameter(_ value: String) -> String {
        "\"" + value.filter { $0 != "\"" && !$0.isNewline } + "\""
    }

    private static func uri(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    /// Lines longer than 75 octets continue on lines starting with a space, never splitting a character.
    static func fold(_ line: String) -> String {
        var out = ""
        var count = 0
        for character in line {
            let size = String(character).utf8.count
            if count + size > 75 {
                out += "\r\n "
                count = 1
            }
            out.append(character)
            count += size
        }
        return out
    }
}
