import Crypto
import Foundation

/// What the calendar endpoint serves: every meeting and each user's secret feed token, as last
/// published by `MeetingService`. Read on the HTTP thread.
struct CalendarFeeds: Sendable {
    var meetings: [Meeting] = []
    var tokens: [UserKey: String] = [:]

    /// The feed's path for a token.
    static func path(_ token: String) -> String { "/v1/calendar/\(token).ics" }

    /// 32 random bytes, base64url: unguessable.
    static func newToken() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return bytes.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The `.ics` of the user whose token this is; nil for an unknown or revoked token.
    func calendar(token: String) -> String? {
        guard !token.isEmpty, let user = tokens.first(where: { $0.value == token })?.key else { return nil }
        let mine = meetings.filter { $0.tenant == user.tenant && $0.attendee(user.user) != nil }
            .sorted { ($0.startsAt, $0.id) < ($1.startsAt, $1.id) }
        return ICalendar.render(mine, for: user.user)
    }
}
