/// An audit record and its hash, as the export reads them from the verified trail.
struct AuditEntry {
    let record: AuditRecord
    let hash: String

    /// A detail of the record.
    subscript(detail key: String) -> String? { record.detail?[key] }

    /// A comma-separated list detail (`members`, `offered_to`, …) as its items.
    func list(_ key: String) -> [String] {
        (self[detail: key] ?? "").split(separator: ",").map(String.init)
    }
}

/// Turns the audit records of one kind of interaction into rows of the interaction record. Adding a kind
/// (files, meetings) is one builder in its own file, listed in `InteractionRecordBuilders.all`.
protocol InteractionRecordBuilder: Sendable {
    /// The audit actions it turns into rows.
    var actions: Set<String> { get }

    /// The row for `entry` (one of `actions`, of the exported tenant), or nil when it is no interaction.
    /// Called for every such record, filtered out or not, in the trail's order: `state` follows the
    /// tenant's rooms and open interactions through it.
    func build(_ entry: AuditEntry, state: inout ExportState) -> InteractionRecord?

    /// Adds what needs reading beyond the audit trail (a message body) to a row the query selected.
    func complete(_ record: inout InteractionRecord, query: ExportQuery, lookup: MessageLookup) throws
}

extension InteractionRecordBuilder {
    func complete(_ record: inout InteractionRecord, query: ExportQuery, lookup: MessageLookup) throws {}
}

/// Every kind of interaction the record holds.
enum InteractionRecordBuilders {
    static let all: [any InteractionRecordBuilder] = [
        MessageInteractions(), ModInteractions(), CallInteractions(), RoomInteractions(), MeetingInteractions(),
        FileInteractions(),
    ]

    /// The builder of each audit action.
    static let byAction: [String: any InteractionRecordBuilder] = {
        var byAction: [String: any InteractionRecordBuilder] = [:]
        for builder in all {
            for action in builder.actions {
                precondition(byAction[action] == nil, "two interaction builders for \(action)")
                byAction[action] = builder
            }
        }
        return byAction
    }()
}

/// What the export keeps while it reads the trail, so a row can name everyone it concerns: each room's
/// members at the time, the room of each call under way, the people of each open MOD request. It grows
/// with rooms and open interactions, never with messages.
struct ExportState {
    private(set) var members: [String: Set<String>] = [:]
    var callRooms: [String: String] = [:]
    var requestParties: [String: Set<String>] = [:]
    /// Each meeting's room and attendees so far.
    var meetingRooms: [String: String] = [:]
    var meetingParties: [String: Set<String>] = [:]

    /// The members of `room` now (as far as the trail tells).
    func members(of room: String) -> Set<String> { members[room] ?? [] }

    mutating func setMembers(_ users: some Sequence<String>, of room: String) { members[room] = Set(users) }
    mutating func join(_ user: String, _ room: String) { members[room, default: []].insert(user) }
    mutating func leave(_ user: String, _ room: String) { members[room]?.remove(user) }
}
