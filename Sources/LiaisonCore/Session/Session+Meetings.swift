import Foundation

/// `meeting.create` and `meeting.forward` (the checks that need the directory and the role policy);
/// the other meeting requests go straight to the `MeetingService`.
extension Session {
    static let maxMeetingInvitees = 50
    static let maxAgendaLength = 4000
    static let maxNoteLength = 8000

    func meetingCreate(_ params: Request.MeetingCreate, caller: Caller, responder: Responder) async throws(ProtocolError) {
        try requireChat(caller)
        try checkMeetingText(title: params.title, agenda: params.agenda)
        guard TimeZone(identifier: params.tz) != nil else {
            throw ProtocolError(.badRequest, "field 'tz' must be an IANA time zone name such as Europe/Paris, not '\(params.tz)'")
        }
        let names = params.invitees.filter { $0 != caller.record.user }
        guard (1...Self.maxMeetingInvitees).contains(Set(names).count) else {
            throw ProtocolError(.badRequest, "field 'invitees' must name 1 to \(Self.maxMeetingInvitees) other users")
        }
        var seen: Set<String> = []
        let invitees = try resolve(names.filter { seen.insert($0).inserted }, caller: caller)
        for invitee in invitees where !hub.policy.mayInviteToMeeting(caller.role, invitee.role) {
            throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not invite a \(invitee.role.rawValue) to a meeting")
        }
        var room: RoomActor?
        if let id = params.room {
            let existing = try hub.rooms.room(id, tenant: caller.record.tenant)
            let members = await existing.members
            guard members.contains(caller.record.user) else { throw ProtocolError(.notMember, "not a member of room \(id)") }
            if let outsider = invitees.first(where: { !members.contains($0.user) }) {
                throw ProtocolError(.notMember, "\(outsider.user) is not a member of room \(id)")
            }
            room = existing
        }
        try await hub.meetings.create(params, organizer: caller, invitees: invitees, room: room, responder: responder)
    }

    func meetingForward(_ params: Request.MeetingForward, caller: Caller, responder: Responder) async throws(ProtocolError) {
        guard let invitee = try resolve([params.user], caller: caller).first else { return }
        let policy = hub.policy.mayInviteToMeeting(caller.role, invitee.role)
            ? nil : ProtocolError(.forbidden, "a \(caller.role.rawValue) may not invite a \(invitee.role.rawValue) to a meeting")
        try await hub.meetings.forward(params, invitee: invitee, policyRefusal: policy, by: caller, responder: responder)
    }

    func checkMeetingText(title: String?, agenda: String?) throws(ProtocolError) {
        if let title, title.isEmpty || title.count > Self.maxTitleLength {
            throw ProtocolError(.badRequest, "field 'title' must be 1 to \(Self.maxTitleLength) characters")
        }
        if let agenda, agenda.count > Self.maxAgendaLength {
            throw ProtocolError(.badRequest, "field 'agenda' must be at most \(Self.maxAgendaLength) characters")
        }
    }

    func checkNote(_ text: String) throws(ProtocolError) {
        guard !text.isEmpty, text.count <= Self.maxNoteLength else {
            throw ProtocolError(.badRequest, "field 'text' must be 1 to \(Self.maxNoteLength) characters")
        }
    }
}
