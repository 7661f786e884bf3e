import Foundation
import LiaisonSync
import Logging

/// Scheduled meetings: owns every `Meeting` and performs what its state machine decides — journals each
/// change (the reply waits until it is durable), tells attendees (`meeting.invite`, `meeting.updated`,
/// `meeting.reminder`; push for devices that are not connected), writes the room's system messages,
/// keeps one timer per meeting (reminder, then the window's close), and links calls to meetings.
public actor MeetingService {
    private var meetings: [String: Meeting] = [:]
    private var calls: [String: CallRecord] = [:]
    private var feedTokens: [UserKey: String] = [:]
    private var timers: [String: Task<Void, Never>] = [:]
    private var changed = false
    /// The meetings and feed tokens the calendar endpoint reads on the HTTP thread, without the actor.
    private let published = Locked(CalendarFeeds())

    private let snapshotPath: String
    private let fileSystem: any FileSystem
    private let reminderLead: Millis
    private let lateMillis: Millis
    private let journal: any JournalWriter
    private let directory: UserDirectory
    private let registry: SessionRegistry
    private let rooms: RoomService
    private let push: PushService
    private let transport: any Transport
    private let audit: AuditLog
    /// Prefixes the feed path in `meeting.feed`'s URL (set once the listener is bound).
    private var publicURL = ""
    private let logger = Logger(label: "liaison.meetings")

    /// Loads the last snapshot and replays the journal's meeting records over it.
    init(dataDirectory: String, journal: any JournalWriter, records: [Data], configuration: HubConfiguration,
         directory: UserDirectory, registry: SessionRegistry, rooms: RoomService, push: PushService,
         transport: any Transport, audit: AuditLog, fileSystem: any FileSystem) throws {
        snapshotPath = Path.join(dataDirectory, "meetings.json")
        self.fileSystem = fileSystem
        reminderLead = Millis(configuration.meetingReminder * 60_000)
        lateMillis = Millis(configuration.meetingLate * 60_000)
        self.journal = journal
        self.directory = directory
        self.registry = registry
        self.rooms = rooms
        self.push = push
        self.transport = transport
        self.audit = audit
        let decoder = JSONDecoder()
        if let data = try fileSystem.contents(of: snapshotPath) {
            let snapshot = try decoder.decode(MeetingSnapshot.self, from: Data(data))
            for meeting in snapshot.meetings { meetings[meeting.id] = meeting }
            for call in snapshot.calls { calls[call.call] = call }
            for feed in snapshot.feeds { feedTokens[UserKey(tenant: feed.tenant, user: feed.user)] = feed.token }
        }
        for data in records where JournalRecordType.may(data, startWith: "meeting.")
            || JournalRecordType.may(data, be: MeetingRecord.callType) {
            guard let record = try? decoder.decode(MeetingRecord.self, from: data) else { continue }
            switch record.type {
            case MeetingRecord.meetingType: if let meeting = record.meeting { meetings[meeting.id] = meeting }
            case MeetingRecord.callType: if let call = record.call { calls[call.call] = call }
            case MeetingRecord.feedType:
                if let feed = record.feed { feedTokens[UserKey(tenant: feed.tenant, user: feed.user)] = feed.token }
            default: continue
            }
            changed = true
        }
        let (all, tokens) = (Array(meetings.values), feedTokens)
        published.withLock { $0 = CalendarFeeds(meetings: all, tokens: tokens) }
    }

    // MARK: Requests

    struct CreateResult: Encodable, Sendable {
        let meeting: String
        let room: String
    }

    /// Schedules a meeting: in `room` (whose members the invitees must be), or in a new `meeting` room.
    func create(_ params: Request.MeetingCreate, organizer: Caller, invitees: [UserRecord], room existing: RoomActor?,
                responder: Responder) async throws(ProtocolError) {
        let now = WallClock.now()
        let id = "g" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let roster = invitees.map {
            Meeting.Attendee(user: $0.user, name: $0.name, role: $0.role, rsvp: .pending, invitedBy: organizer.record.user,
                             invited: false)
        }
        let me = Meeting.Attendee(user: organizer.record.user, name: organizer.record.name, role: organizer.role,
                                  rsvp: .accepted, invitedBy: organizer.record.user, invited: true)
        // Validated before a room is made for it.
        _ = try Meeting(id: id, tenant: organizer.record.tenant, room: "", organizer: me, tz: params.tz, title: params.title,
                        agenda: params.agenda, startsAt: params.startsAt, durationMin: params.durationMin,
                        forwardable: params.forwardable ?? false, invitees: roster, lateMillis: lateMillis, now: now)
        let room: RoomActor
        if let existing {
            room = existing
        } else {
            room = await rooms.create(kind: .meeting, tenant: organizer.record.tenant, creator: organizer.record.user,
                                      members: invitees.map(\.user), title: params.title, responder: nil)
        }
        let meeting = try Meeting(
            id: id, tenant: organizer.record.tenant, room: room.id, organizer: me, tz: params.tz, title: params.title,
            agenda: params.agenda, startsAt: params.startsAt, durationMin: params.durationMin,
            forwardable: params.forwardable ?? false, invitees: roster, lateMillis: lateMillis, now: WallClock.now())
        let result = CreateResult(meeting: id, room: room.id)
        try store(meeting) { responder.ok(result) }
        invite(meeting.attendees.map(\.user).filter { $0 != meeting.organizer }, to: meeting)
        say(in: meeting, from: meeting.organizer, "\(name(meeting.organizer, meeting.tenant)) scheduled “\(meeting.title)” for \(MeetingText.when(meeting))")
        audit.record(AuditEvent("meeting.create", tenant: meeting.tenant, actor: meeting.organizer, device: organizer.device,
                                detail: ["meeting": id, "room": room.id, "starts_at": String(meeting.startsAt),
                                         "invitees": roster.map(\.user).joined(separator: ",")]))
    }

    func rsvp(_ params: Request.MeetingRSVP, by caller: Caller, responder: Responder) throws(ProtocolError) {
        var meeting = try lookup(params.meeting, for: caller)
        guard try meeting.rsvp(caller.record.user, params.response) else {
            journal.afterPendingWrites { responder.ok() }
            return
        }
        try store(meeting) { responder.ok() }
        announce(meeting)
        say(in: meeting, from: caller.record.user, "\(caller.record.name) \(params.response.rawValue) “\(meeting.title)”")
        audit.record(AuditEvent("meeting.rsvp", tenant: meeting.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["meeting": meeting.id, "response": params.response.rawValue]))
    }

    func update(_ params: Request.MeetingUpdate, by caller: Caller, responder: Responder) throws(ProtocolError) {
        var meeting = try lookup(params.meeting, for: caller)
        let retimed = try meeting.update(by: caller.record.user, title: params.title, agenda: params.agenda,
                                         startsAt: params.startsAt, durationMin: params.durationMin, now: WallClock.now())
        try store(meeting) { responder.ok() }
        announce(meeting)
        say(in: meeting, from: caller.record.user, retimed
            ? "“\(meeting.title)” moved to \(MeetingText.when(meeting)); answers are reset"
            : "“\(meeting.title)” was updated")
        audit.record(AuditEvent("meeting.update", tenant: meeting.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["meeting": meeting.id, "starts_at": String(meeting.startsAt),
                                         "retimed": String(retimed)]))
    }

    func cancel(_ params: Request.MeetingRef, by caller: Caller, responder: Responder) throws(ProtocolError) {
        var meeting = try lookup(params.meeting, for: caller)
        try meeting.cancel(by: caller.record.user)
        try store(meeting) { responder.ok() }
        announce(meeting)
        say(in: meeting, from: caller.record.user, "“\(meeting.title)” was cancelled")
        audit.record(AuditEvent("meeting.cancel", tenant: meeting.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["meeting": meeting.id]))
    }

    /// Adds `invitee`, unless the meeting's rules or the role policy (`policyRefusal`) say no; audited either way.
    func forward(_ params: Request.MeetingForward, invitee: UserRecord, policyRefusal: ProtocolError?, by caller: Caller,
                 responder: Responder) async throws(ProtocolError) {
        var meeting = try lookup(params.meeting, for: caller)
        let room = try rooms.room(meeting.room, tenant: meeting.tenant)
        let attendee = Meeting.Attendee(user: invitee.user, name: invitee.name, role: invitee.role, rsvp: .pending,
                                        invitedBy: caller.record.user, invited: false)
        let refusal: ProtocolError?
        do {
            let added = try meeting.forward(by: caller.record.user, role: caller.role, to: attendee)
            refusal = policyRefusal
            if refusal == nil, !added {
                journal.afterPendingWrites { responder.ok() }
                return
            }
        } catch {
            refusal = error
        }
        audit.record(AuditEvent("meeting.forward", tenant: meeting.tenant, actor: caller.record.user, device: caller.device,
                                refused: refusal?.code, detail: ["meeting": meeting.id, "user": invitee.user]))
        if let refusal { throw refusal }
        if !(await room.isMember(invitee.user)) {
            guard room.kind == .meeting else {
                throw ProtocolError(.notMember, "\(invitee.user) is not a member of room \(room.id), where the meeting is")
            }
            await room.join(invitee.user, responder: nil)
        }
        // Re-read: the room join above suspended, and the meeting may have changed meanwhile.
        guard var current = meetings[meeting.id], current.attendee(invitee.user) == nil else {
            journal.afterPendingWrites { responder.ok() }
            return
        }
        _ = try current.forward(by: caller.record.user, role: caller.role, to: attendee)
        try store(current) { responder.ok() }
        invite([invitee.user], to: current)
        announce(current)
        say(in: current, from: caller.record.user, "\(caller.record.name) invited \(invitee.name) to “\(current.title)”")
    }

    struct ListResult: Encodable, Sendable {
        let meetings: [MeetingView]
    }

    /// The caller's meetings starting in [from, to), by start.
    func list(from: Millis?, to: Millis?, for caller: Caller) -> ListResult {
        let mine = meetings.values.filter {
            $0.tenant == caller.record.tenant && $0.attendee(caller.record.user) != nil
                && $0.startsAt >= (from ?? .min) && $0.startsAt < (to ?? .max)
        }
        return ListResult(meetings: mine.sorted { ($0.startsAt, $0.id) < ($1.startsAt, $1.id) }.map { view($0, type: nil) })
    }

    /// The meeting with attendance and notes; an HCP does not see the medical team's notes.
    func get(_ id: String, for caller: Caller) throws(ProtocolError) -> MeetingView {
        var meeting = try lookup(id, for: caller)
        if caller.role == .hcp { meeting.notes = [] }
        return view(meeting, type: nil, details: true)
    }

    struct NoteResult: Encodable, Sendable {
        let note: String
    }

    func note(_ params: Request.MeetingNote, by caller: Caller, responder: Responder) throws(ProtocolError) {
        var meeting = try lookup(params.meeting, for: caller)
        let note = try meeting.note(by: caller.record.user, role: caller.role, kind: params.kind, text: params.text,
                                    id: Self.noteID(), now: WallClock.now())
        try store(meeting) { responder.ok(NoteResult(note: note.note)) }
        audit.record(AuditEvent("meeting.note", tenant: meeting.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["meeting": meeting.id, "note": note.note, "kind": note.kind.rawValue,
                                         "size": String(note.text.utf8.count)]))
    }

    /// Notes on an ad-hoc call, by one of its parties (not an `hcp`).
    func callNote(_ params: Request.CallNote, by caller: Caller, responder: Responder) throws(ProtocolError) {
        guard var record = calls[params.call], record.tenant == caller.record.tenant,
              record.parties.contains(caller.record.user)
        else { throw ProtocolError(.notFound, "no call '\(params.call)' of yours") }
        guard caller.role != .hcp else { throw ProtocolError(.forbidden, "an hcp may not write call notes") }
        let note = Meeting.Note(note: Self.noteID(), author: caller.record.user, kind: params.kind, text: params.text,
                                at: WallClock.now())
        record.notes.append(note)
        try persist(MeetingRecord(type: MeetingRecord.callType, call: record)) { responder.ok(NoteResult(note: note.note)) }
        calls[record.call] = record
        audit.record(AuditEvent("call.note", tenant: record.tenant, actor: caller.record.user, device: caller.device,
                                detail: ["call": record.call, "note": note.note, "kind": note.kind.rawValue,
                                         "size": String(note.text.utf8.count)]))
    }

    /// How clients reach the server: `meeting.feed`'s URLs start with it.
    public func usePublicURL(_ url: String) { publicURL = url }

    struct FeedResult: Encodable, Sendable {
        let url: String
    }

    /// The caller's secret calendar feed URL (a new one with `reset`, which revokes the old).
    func feed(reset: Bool, for caller: Caller, responder: Responder) throws(ProtocolError) {
        if let token = feedTokens[caller.key], !reset {
            let url = publicURL + CalendarFeeds.path(token)
            journal.afterPendingWrites { responder.ok(FeedResult(url: url)) }
            return
        }
        let token = CalendarFeeds.newToken()
        let feed = MeetingRecord.Feed(tenant: caller.record.tenant, user: caller.record.user, token: token)
        let url = publicURL + CalendarFeeds.path(token)
        try persist(MeetingRecord(type: MeetingRecord.feedType, feed: feed)) { responder.ok(FeedResult(url: url)) }
        feedTokens[caller.key] = token
        publish()
        audit.record(AuditEvent("meeting.feed", tenant: caller.record.tenant, actor: caller.record.user,
                                device: caller.device, detail: ["reset": String(reset)]))
    }

    /// The `.ics` of the feed with this token, or nil (unknown or revoked): read on the HTTP thread.
    public nonisolated func calendar(token: String) -> String? {
        published.withLock { $0.calendar(token: token) }
    }

    // MARK: Sessions and calls

    /// The invitations `caller` has not seen yet (sent at their connect), now counted as delivered.
    func pendingInvitations(for caller: Caller) -> [OutboundFrame] {
        var frames: [OutboundFrame] = []
        for var meeting in meetings.values.sorted(by: { $0.startsAt < $1.startsAt })
        where meeting.tenant == caller.record.tenant && meeting.isOpen
            && meeting.attendee(caller.record.user).map({ !$0.invited }) == true {
            frames.append(FrameEncoder.event(view(meeting, type: "meeting.invite")))
            meeting.invitationDelivered(to: caller.record.user)
            try? store(meeting, then: nil)
        }
        return frames
    }

    /// A call in `room` connected: it is remembered for notes, and is the call of the room's meetings whose
    /// window is open.
    func callConnected(_ call: String, tenant: String, room: String, parties: [String], at: Millis) {
        let record = CallRecord(call: call, tenant: tenant, room: room, parties: parties, connectedAt: at)
        try? persist(MeetingRecord(type: MeetingRecord.callType, call: record), then: nil)
        calls[call] = record
        for var meeting in meetings.values where meeting.room == room && meeting.tenant == tenant {
            guard meeting.callConnected(call, parties: parties, at: at) else { continue }
            try? store(meeting, then: nil)
            announce(meeting)
        }
    }

    func callEnded(_ call: String, at: Millis) {
        guard var record = calls[call] else { return }
        record.endedAt = at
        try? persist(MeetingRecord(type: MeetingRecord.callType, call: record), then: nil)
        calls[call] = record
        for var meeting in meetings.values where meeting.room == record.room && meeting.tenant == record.tenant {
            guard meeting.callEnded(call, at: at) else { continue }
            try? store(meeting, then: nil)
            announce(meeting)
        }
    }

    /// After start-up: re-arms every open meeting's timer (a reminder missed while down goes out if the
    /// meeting has not started; a window that closed while down is decided now).
    func resumeAfterStart() {
        for meeting in meetings.values where meeting.isOpen { arm(meeting) }
    }

    // MARK: Timers

    private func arm(_ meeting: Meeting) {
        timers.removeValue(forKey: meeting.id)?.cancel()
        guard meeting.isOpen else { return }
        let now = WallClock.now()
        let reminderDue = !meeting.reminded && now < meeting.startsAt
        let due = reminderDue ? max(now, meeting.startsAt - reminderLead) : meeting.windowClosesAt
        let id = meeting.id
        timers[id] = Task { [weak self] in
            guard (try? await Task.sleep(for: .milliseconds(max(0, due - now)))) != nil else { return }
            await self?.tick(id)
        }
    }

    private func tick(_ id: String) {
        timers[id] = nil
        guard var meeting = meetings[id], meeting.isOpen else { return }
        let now = WallClock.now()
        if !meeting.reminded, now >= meeting.startsAt - reminderLead {
            meeting.reminded = true
            if now < meeting.startsAt { remind(meeting) }
            try? store(meeting, then: nil)
        }
        if meeting.windowClosed(now: now) {
            try? store(meeting, then: nil)
            announce(meeting)
            audit.record(AuditEvent("meeting.\(meeting.status.rawValue)", tenant: meeting.tenant, actor: meeting.organizer,
                                    detail: ["meeting": meeting.id, "calls": String(Set(meeting.attendance.map(\.call)).count)]))
        }
        arm(meeting)
    }

    private func remind(_ meeting: Meeting) {
        let users = meeting.attendees.filter { $0.rsvp != .declined }.map { UserKey(tenant: meeting.tenant, user: $0.user) }
        let event = FrameEncoder.event(MeetingReminderEvent(meeting: meeting.id, room: meeting.room, title: meeting.title,
                                                            startsAt: meeting.startsAt))
        transport.broadcast(event, to: registry.peers(ofAll: users))
        wake(users, meeting, reminder: true)
        audit.record(AuditEvent("meeting.reminder", tenant: meeting.tenant, actor: meeting.organizer,
                                detail: ["meeting": meeting.id]))
    }

    // MARK: Support

    private func lookup(_ id: String, for caller: Caller) throws(ProtocolError) -> Meeting {
        guard let meeting = meetings[id], meeting.tenant == caller.record.tenant,
              meeting.attendee(caller.record.user) != nil
        else { throw ProtocolError(.notFound, "no meeting '\(id)'") }
        return meeting
    }

    /// Journals `meeting`, keeps it, publishes it to the calendar and re-arms its timer.
    private func store(_ meeting: Meeting, then: (@Sendable () -> Void)?) throws(ProtocolError) {
        try persist(MeetingRecord(type: MeetingRecord.meetingType, meeting: meeting), then: then)
        let rearm = meetings[meeting.id].map { $0.startsAt != meeting.startsAt || $0.isOpen != meeting.isOpen } ?? true
        meetings[meeting.id] = meeting
        publish()
        if rearm { arm(meeting) }
    }

    private func persist(_ record: MeetingRecord, then: (@Sendable () -> Void)?) throws(ProtocolError) {
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(record))
        } catch {
            logger.error("a \(record.type) record could not be encoded: \(error)")
            throw ProtocolError(.internal, "the meeting could not be stored")
        }
        changed = true
        journal.append(.bytes(bytes), completion: then)
    }

    private func publish() {
        let (all, tokens) = (Array(meetings.values), feedTokens)
        published.withLock { $0 = CalendarFeeds(meetings: all, tokens: tokens) }
    }

    /// `meeting.invite` to the connected devices of `users` (who count as invited), push to the others.
    private func invite(_ users: [String], to meeting: Meeting) {
        let keys = users.map { UserKey(tenant: meeting.tenant, user: $0) }
        let connected = Set(registry.entries(ofAll: keys).map(\.caller.record.user))
        transport.broadcast(FrameEncoder.event(view(meeting, type: "meeting.invite")), to: registry.peers(ofAll: keys))
        if !connected.isEmpty, var current = meetings[meeting.id] {
            for user in connected { current.invitationDelivered(to: user) }
            try? store(current, then: nil)
        }
        wake(keys, meeting, reminder: false)
    }

    /// `meeting.updated` with the roster to every attendee's connected devices.
    private func announce(_ meeting: Meeting) {
        let keys = meeting.attendees.map { UserKey(tenant: meeting.tenant, user: $0.user) }
        transport.broadcast(FrameEncoder.event(view(meeting, type: "meeting.updated")), to: registry.peers(ofAll: keys))
    }

    private func wake(_ users: [UserKey], _ meeting: Meeting, reminder: Bool) {
        let pushed = push.withPushers(users)
        guard !pushed.isEmpty else { return }
        let organizerName = name(meeting.organizer, meeting.tenant)
        Task { [push] in
            await push.meeting(meeting.id, room: meeting.room, organizer: meeting.organizer, organizerName: organizerName,
                               title: meeting.title, startsAt: meeting.startsAt, reminder: reminder,
                               freshUntil: meeting.startsAt, to: pushed)
        }
    }

    /// A system message in the meeting's room.
    private func say(in meeting: Meeting, from user: String, _ text: String) {
        guard let room = try? rooms.room(meeting.room, tenant: meeting.tenant) else { return }
        Task { _ = try? await room.send(from: user, body: text, clientMsgID: nil, kind: .system, responder: nil) }
    }

    private func view(_ meeting: Meeting, type: String?, details: Bool = false) -> MeetingView {
        MeetingView(meeting, type: type, details: details) { [directory] user in
            meeting.attendee(user)?.name ?? directory.name(of: user, tenant: meeting.tenant)
        }
    }

    private func name(_ user: String, _ tenant: String) -> String { directory.name(of: user, tenant: tenant) }

    private static func noteID() -> String {
        "n" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    }

    // MARK: Snapshots

    var hasChanges: Bool { changed }

    /// Writes every meeting, the calls of the last 30 days and the feed tokens; true when written.
    func writeSnapshot(io: IOQueue) async -> Bool {
        guard changed else { return true }
        let cutoff = WallClock.now() - CallRecord.retentionMillis
        calls = calls.filter { $0.value.connectedAt >= cutoff }
        let snapshot = MeetingSnapshot(
            meetings: meetings.values.sorted { $0.id < $1.id }, calls: calls.values.sorted { $0.call < $1.call },
            feeds: feedTokens.map { MeetingRecord.Feed(tenant: $0.key.tenant, user: $0.key.user, token: $0.value) }
                .sorted { ($0.tenant, $0.user) < ($1.tenant, $1.user) })
        changed = false
        do {
            try await io.replace(snapshotPath, withJSONOf: snapshot, fileSystem: fileSystem)
            return true
        } catch {
            changed = true
            logger.error("the meetings snapshot could not be written: \(error)")
            return false
        }
    }
}
