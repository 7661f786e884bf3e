/// How a meeting appears on the wire: in `meeting.invite`, `meeting.updated`, `meeting.list` and
/// (with `details`) `meeting.get`.
struct MeetingView: Encodable, Sendable {
    struct Person: Encodable, Sendable {
        let user: String
        let name: String
    }

    struct Attendee: Encodable, Sendable {
        let user: String
        let name: String
        let rsvp: Meeting.RSVP
    }

    struct Attendance: Encodable, Sendable {
        let call: String
        let user: String
        let joinedAt: Millis
        let leftAt: Millis?

        enum CodingKeys: String, CodingKey {
            case call, user
            case joinedAt = "joined_at", leftAt = "left_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(call, forKey: .call)
            try container.encode(user, forKey: .user)
            try container.encode(joinedAt, forKey: .joinedAt)
            try container.encode(leftAt, forKey: .leftAt)
        }
    }

    struct Note: Encodable, Sendable {
        let note: String
        let author: Person
        let kind: Meeting.NoteKind
        let text: String
        let at: Millis
    }

    let type: String?
    let meeting: String
    let room: String
    let title: String
    let agenda: String?
    let startsAt: Millis
    let durationMin: Int
    let tz: String
    let forwardable: Bool
    let status: Meeting.Status
    let organizer: Person
    let attendees: [Attendee]
    let attendance: [Attendance]?
    let notes: [Note]?

    enum CodingKeys: String, CodingKey {
        case type, meeting, room, title, agenda, tz, forwardable, status, organizer, attendees, attendance, notes
        case startsAt = "starts_at", durationMin = "duration_min"
    }

    /// `type` names the event (nil inside a reply); `details` adds attendance and notes.
    init(_ meeting: Meeting, type: String?, details: Bool = false, name: (String) -> String) {
        self.type = type
        self.meeting = meeting.id
        room = meeting.room
        title = meeting.title
        agenda = meeting.agenda
        startsAt = meeting.startsAt
        durationMin = meeting.durationMin
        tz = meeting.tz
        forwardable = meeting.forwardable
        status = meeting.status
        organizer = Person(user: meeting.organizer, name: name(meeting.organizer))
        attendees = meeting.attendees.map { Attendee(user: $0.user, name: $0.name, rsvp: $0.rsvp) }
        attendance = details
            ? meeting.attendance.map { Attendance(call: $0.call, user: $0.user, joinedAt: $0.joinedAt, leftAt: $0.leftAt) }
            : nil
        notes = details
            ? meeting.notes.map { Note(note: $0.note, author: Person(user: $0.author, name: name($0.author)), kind: $0.kind,
                                       text: $0.text, at: $0.at) }
            : nil
    }
}

/// `meeting.reminder`: a meeting starts soon.
struct MeetingReminderEvent: Encodable, Sendable {
    let type = "meeting.reminder"
    let meeting: String
    let room: String
    let title: String
    let startsAt: Millis

    enum CodingKeys: String, CodingKey {
        case type, meeting, room, title
        case startsAt = "starts_at"
    }
}
