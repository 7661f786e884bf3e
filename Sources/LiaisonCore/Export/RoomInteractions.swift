/// Rooms: who was in a conversation, and when — created (with its members), invited, joined (a direct
/// room re-created), left, and legal holds put on or taken off. Follows each room's members for the
/// other kinds' `user` filter.
struct RoomInteractions: InteractionRecordBuilder {
    private static let events = [
        "room.create": "created", "room.invite": "invited", "room.join": "joined", "room.leave": "left",
        "room.hold": "hold",
    ]

    var actions: Set<String> { Set(Self.events.keys) }

    func build(_ entry: AuditEntry, state: inout ExportState) -> InteractionRecord? {
        let action = entry.record.action
        guard let room = entry[detail: "room"], let event = Self.events[action] else { return nil }
        var record = InteractionRecord(entry, kind: "room", event: event)
        record.set(.room, room)
        switch action {
        case "room.create":
            let members = entry.list("members")
            state.setMembers(members, of: room)
            record.set(users: members)
            record.set(.roomKind, entry[detail: "kind"])
        case "room.invite", "room.join":
            if let user = entry[detail: "user"] {
                state.join(user, room)
                record.set(users: [user])
            }
        case "room.leave":
            if let actor = entry.record.actor { state.leave(actor, room) }
        case "room.hold":
            record.set(.outcome, entry[detail: "on"] == "true" ? "on" : "off")
        default:
            break
        }
        // Those who were in the room, and whoever the change concerned (the actor and users named above).
        record.parties.formUnion(state.members(of: room))
        return record
    }
}
