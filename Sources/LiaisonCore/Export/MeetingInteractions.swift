/// Meetings: a row per step — scheduled (with the invitees), answered, moved, cancelled, forwarded
/// (or refused), a note written (its kind and size, never its text), reminded, held or missed — and
/// notes on ad-hoc calls. The meeting's room and everyone invited so far are its parties.
struct MeetingInteractions: InteractionRecordBuilder {
    private static let events = [
        "meeting.create": "scheduled", "meeting.rsvp": "answered", "meeting.update": "updated",
        "meeting.cancel": "cancelled", "meeting.forward": "forwarded", "meeting.note": "note",
        "meeting.reminder": "reminded", "meeting.held": "held", "meeting.missed": "missed", "call.note": "call_note",
    ]

    var actions: Set<String> { Set(Self.events.keys) }

    func build(_ entry: AuditEntry, state: inout ExportState) -> InteractionRecord? {
        let action = entry.record.action
        guard let event = Self.events[action] else { return nil }
        if action == "call.note" {
            guard let call = entry[detail: "call"] else { return nil }
            var record = InteractionRecord(entry, kind: "meeting", event: event)
            record.set(.call, call)
            record.set(.note, entry[detail: "note"])
            record.set(.noteKind, entry[detail: "kind"])
            record.set(.size, number: entry[detail: "size"])
            return record
        }
        guard let meeting = entry[detail: "meeting"] else { return nil }
        var record = InteractionRecord(entry, kind: "meeting", event: event)
        record.set(.meeting, meeting)
        switch action {
        case "meeting.create":
            state.meetingRooms[meeting] = entry[detail: "room"]
            record.set(users: entry.list("invitees"))
            record.set(.startsAt, number: entry[detail: "starts_at"])
        case "meeting.rsvp":
            record.set(.outcome, entry[detail: "response"])
        case "meeting.update":
            record.set(.startsAt, number: entry[detail: "starts_at"])
        case "meeting.forward":
            record.set(users: entry[detail: "user"].map { [$0] } ?? [])
        case "meeting.note":
            record.set(.note, entry[detail: "note"])
            record.set(.noteKind, entry[detail: "kind"])
            record.set(.size, number: entry[detail: "size"])
        default:
            break
        }
        record.set(.room, state.meetingRooms[meeting])
        if entry.record.code == nil { state.meetingParties[meeting, default: []].formUnion(record.parties) }
        record.parties.formUnion(state.meetingParties[meeting] ?? [])
        return record
    }
}
