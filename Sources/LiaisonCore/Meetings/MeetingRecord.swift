/// What the journal holds for meetings: each change's whole new state (a meeting, a call's record, a
/// user's calendar feed), replayed over the last snapshot at start-up.
struct MeetingRecord: Codable, Sendable {
    var type: String
    var meeting: Meeting?
    var call: CallRecord?
    var feed: Feed?

    /// A user's secret calendar feed token (`token` nil: revoked).
    struct Feed: Codable, Sendable, Equatable {
        let tenant: String
        let user: String
        let token: String?
    }

    static let meetingType = "meeting.state"
    static let callType = "call.record"
    static let feedType = "meeting.feed"
}

/// The meetings snapshot (`meetings.json`).
struct MeetingSnapshot: Codable, Sendable {
    var meetings: [Meeting]
    var calls: [CallRecord]
    var feeds: [MeetingRecord.Feed]
}
