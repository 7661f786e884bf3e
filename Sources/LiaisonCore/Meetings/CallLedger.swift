/// A call that connected, remembered for its notes (`call.note`) and for meetings' attendance.
struct CallRecord: Codable, Sendable, Equatable {
    let call: String
    let tenant: String
    let room: String
    let parties: [String]
    let connectedAt: Millis
    var endedAt: Millis?
    var notes: [Meeting.Note] = []

    /// How long a call's record is kept for notes after it connected.
    static let retentionMillis: Millis = 30 * 24 * 3_600_000
}
