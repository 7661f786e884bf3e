/// One scheduled meeting: a state machine without I/O. `scheduled → in_progress → held`, or
/// `scheduled → missed` when its window closes without a call, or `cancelled` before either. Every
/// input validates, changes the state, and says what changed; the owner journals and announces it.
public struct Meeting: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case scheduled, inProgress = "in_progress", held, missed, cancelled
    }

    public enum Response: String, Codable, Sendable, WireEnum {
        case accepted, declined, tentative
    }

    public enum RSVP: String, Codable, Sendable {
        case pending, accepted, declined, tentative
    }

    public enum NoteKind: String, Codable, Sendable, WireEnum {
        case notes, insight, followUp = "follow_up"
    }

    /// Someone on the roster (the organizer first, accepted).
    public struct Attendee: Codable, Sendable, Equatable {
        public var user: String
        public var name: String
        public var role: Role
        public var rsvp: RSVP
        /// Who added them: the organizer at creation, or whoever forwarded the invitation.
        public var invitedBy: String
        /// Whether a `meeting.invite` reached a connected device of theirs (else it goes at their next connect).
        public var invited: Bool
    }

    /// A stretch of the meeting's call one user was in.
    public struct Attendance: Codable, Sendable, Equatable {
        public var call: String
        public var user: String
        public var joinedAt: Millis
        public var leftAt: Millis?
    }

    public struct Note: Codable, Sendable, Equatable {
        public var note: String
        public var author: String
        public var kind: NoteKind
        public var text: String
        public var at: Millis
    }

    /// How long before the start a call already counts as the meeting's.
    static let earlyMillis: Millis = 15 * 60_000
    static let maxDurationMinutes = 24 * 60

    public let id: String
    public let tenant: String
    public let room: String
    public let organizer: String
    public let tz: String
    public let createdAt: Millis
    /// How long after the end a call still counts, and when the outcome is decided (`--meeting-late`).
    public let lateMillis: Millis
    public var title: String
    public var agenda: String?
    public var startsAt: Millis
    public var durationMin: Int
    public var forwardable: Bool
    public var attendees: [Attendee]
    public var status: Status = .scheduled
    public var attendance: [Attendance] = []
    public var notes: [Note] = []
    /// Whether the reminder went out (for the current start time).
    public var reminded = false

    public init(id: String, tenant: String, room: String, organizer: Attendee, tz: String, title: String,
                agenda: String?, startsAt: Millis, durationMin: Int, forwardable: Bool, invitees: [Attendee],
                lateMillis: Millis = 60 * 60_000, now: Millis) throws(ProtocolError) {
        try Self.checkTimes(startsAt: startsAt, durationMin: durationMin, now: now)
        self.id = id
        self.tenant = tenant
        self.room = room
        self.organizer = organizer.user
        self.tz = tz
        self.createdAt = now
        self.lateMillis = lateMillis
        self.title = title
        self.agenda = agenda
        self.startsAt = startsAt
        self.durationMin = durationMin
        self.forwardable = forwardable
        var roster = organizer
        roster.rsvp = .accepted
        roster.invited = true
        attendees = [roster] + invitees
    }

    public var endsAt: Millis { startsAt + Millis(durationMin) * 60_000 }
    /// Until when a call still counts, and the status is decided.
    public var windowClosesAt: Millis { endsAt + lateMillis }
    public var isOpen: Bool { status == .scheduled || status == .inProgress }

    public func attendee(_ user: String) -> Attendee? { attendees.first { $0.user == user } }

    static func checkTimes(startsAt: Millis, durationMin: Int, now: Millis) throws(ProtocolError) {
        guard startsAt > now else { throw ProtocolError(.badRequest, "field 'starts_at' must be in the future") }
        guard (1...maxDurationMinutes).contains(durationMin) else {
            throw ProtocolError(.badRequest, "field 'duration_min' must be 1 to \(maxDurationMinutes)")
        }
    }

    private func checkOpen() throws(ProtocolError) {
        switch status {
        case .scheduled, .inProgress: return
        case .cancelled: throw ProtocolError(.notFound, "meeting \(id) was cancelled")
        case .held, .missed: throw ProtocolError(.expired, "meeting \(id) is over")
        }
    }

    private func checkOrganizer(_ user: String, _ what: String) throws(ProtocolError) {
        guard user == organizer else { throw ProtocolError(.forbidden, "only the organizer may \(what) meeting \(id)") }
    }

    // MARK: Inputs

    /// An attendee answers; false when it was their answer already.
    public mutating func rsvp(_ user: String, _ response: Response) throws(ProtocolError) -> Bool {
        try checkOpen()
        guard let index = attendees.firstIndex(where: { $0.user == user }) else {
            throw ProtocolError(.notMember, "you are not invited to meeting \(id)")
        }
        let rsvp = RSVP(rawValue: response.rawValue)!
        guard attendees[index].rsvp != rsvp else { return false }
        attendees[index].rsvp = rsvp
        return true
    }

    /// The organizer changes it; a new time resets every other answer to `pending` and re-arms the reminder.
    /// Returns whether the time changed.
    public mutating func update(by user: String, title: String?, agenda: String?, startsAt: Millis?, durationMin: Int?,
                                now: Millis) throws(ProtocolError) -> Bool {
        try checkOrganizer(user, "change")
        guard status == .scheduled else {
            if status == .inProgress { throw ProtocolError(.badRequest, "meeting \(id) has started") }
            try checkOpen()
            return false
        }
        let newStart = startsAt ?? self.startsAt
        let newDuration = durationMin ?? self.durationMin
        let retimed = newStart != self.startsAt || newDuration != self.durationMin
        if retimed { try Self.checkTimes(startsAt: newStart, durationMin: newDuration, now: now) }
        if let title { self.title = title }
        if let agenda { self.agenda = agenda }
        guard retimed else { return false }
        self.startsAt = newStart
        self.durationMin = newDuration
        reminded = false
        for index in attendees.indices where attendees[index].user != organizer { attendees[index].rsvp = .pending }
        return true
    }

    /// The organizer calls it off.
    public mutating func cancel(by user: String) throws(ProtocolError) {
        try checkOrganizer(user, "cancel")
        guard status == .scheduled else {
            if status == .inProgress { throw ProtocolError(.badRequest, "meeting \(id) has started") }
            try checkOpen()
            return
        }
        status = .cancelled
    }

    /// `by` adds `invitee`: the organizer anyone (the role policy is the caller's to check); an attendee only
    /// when the meeting is forwardable, and never an `hcp` to an `hcp`. False when already invited.
    public mutating func forward(by user: String, role: Role, to invitee: Attendee) throws(ProtocolError) -> Bool {
        try checkOpen()
        if user != organizer {
            guard attendee(user) != nil else { throw ProtocolError(.notMember, "you are not invited to meeting \(id)") }
            guard forwardable else {
                throw ProtocolError(.forbidden, "meeting \(id) may be forwarded only by its organizer")
            }
            guard !(role == .hcp && invitee.role == .hcp) else {
                throw ProtocolError(.forbidden, "an hcp may not forward a meeting to another hcp")
            }
        }
        guard attendee(invitee.user) == nil else { return false }
        var added = invitee
        added.invitedBy = user
        attendees.append(added)
        return true
    }

    /// An invitation reached a connected device of `user`.
    public mutating func invitationDelivered(to user: String) {
        if let index = attendees.firstIndex(where: { $0.user == user }) { attendees[index].invited = true }
    }

    /// A call in the meeting's room connected `parties` at `at`: within the window it is the meeting's
    /// call (the meeting is in progress and the parties attend). False when it does not count.
    public mutating func callConnected(_ call: String, parties: [String], at: Millis) -> Bool {
        guard isOpen, at >= startsAt - Self.earlyMillis, at < windowClosesAt else { return false }
        status = .inProgress
        for user in parties { attendance.append(Attendance(call: call, user: user, joinedAt: at, leftAt: nil)) }
        return true
    }

    /// The meeting's call ended at `at`: its attendance closes and the meeting was held.
    public mutating func callEnded(_ call: String, at: Millis) -> Bool {
        var changed = false
        for index in attendance.indices where attendance[index].call == call && attendance[index].leftAt == nil {
            attendance[index].leftAt = at
            changed = true
        }
        if changed, status == .inProgress { status = .held }
        return changed
    }

    /// The window closed: no call makes it `missed`, a call still going makes it `held`. False before then.
    public mutating func windowClosed(now: Millis) -> Bool {
        guard now >= windowClosesAt else { return false }
        switch status {
        case .scheduled: status = .missed
        case .inProgress: status = .held
        case .held, .missed, .cancelled: return false
        }
        return true
    }

    /// An attendee (not an `hcp`) records notes, an insight or a follow-up.
    public mutating func note(by user: String, role: Role, kind: NoteKind, text: String, id: String,
                              now: Millis) throws(ProtocolError) -> Note {
        guard status != .cancelled else { throw ProtocolError(.notFound, "meeting \(self.id) was cancelled") }
        guard attendee(user) != nil else { throw ProtocolError(.notMember, "you are not invited to meeting \(self.id)") }
        guard role != .hcp else { throw ProtocolError(.forbidden, "an hcp may not write meeting notes") }
        let note = Note(note: id, author: user, kind: kind, text: text, at: now)
        notes.append(note)
        return note
    }
}
