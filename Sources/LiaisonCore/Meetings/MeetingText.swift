import Foundation

/// The words of a meeting's system messages.
enum MeetingText {
    /// `Tue 1 Dec 2026, 10:00 (America/New_York), 60 min`: in the organizer's zone.
    static func when(_ meeting: Meeting) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: meeting.tz)
        formatter.dateFormat = "EEE d MMM yyyy, HH:mm"
        let start = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(meeting.startsAt) / 1000))
        return "\(start) (\(meeting.tz)), \(meeting.durationMin) min"
    }
}
