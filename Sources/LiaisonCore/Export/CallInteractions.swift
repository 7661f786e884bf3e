/// Calls: a row per step — invited (whom it rang), accepted, declined, hung up — and `ended`, the call's
/// summary: parties, devices, ring/answer/end times, duration and outcome.
struct CallInteractions: InteractionRecordBuilder {
    private static let events = [
        "call.invite": "invited", "call.accept": "accepted", "call.reject": "declined", "call.hangup": "hung_up",
        "call.end": "ended",
    ]
    /// A call that was never answered, by why it ended.
    private static let unansweredOutcomes = [
        "rejected": "declined", "timeout": "missed", "cancelled": "cancelled", "hangup": "cancelled", "busy": "busy",
        "disconnected": "dropped",
    ]

    var actions: Set<String> { Set(Self.events.keys) }

    func build(_ entry: AuditEntry, state: inout ExportState) -> InteractionRecord? {
        let action = entry.record.action
        guard let call = entry[detail: "call"], let event = Self.events[action] else { return nil }
        var record = InteractionRecord(entry, kind: "call", event: event)
        record.set(.call, call)
        // call.reject and call.hangup name only the call: its room is the one call.invite named.
        let room = entry[detail: "room"] ?? state.callRooms[call]
        record.set(.room, room)
        if let room { record.parties.formUnion(state.members(of: room)) }
        switch action {
        case "call.invite":
            state.callRooms[call] = room
            record.set(users: entry.list("ringing_users"))
            record.set(.media, entry[detail: "media"])
        case "call.end":
            state.callRooms[call] = nil
            let reason = entry[detail: "reason"]
            let answered = entry[detail: "answered_at"] != nil
            record.set(.outcome, answered ? "answered" : reason.map { Self.unansweredOutcomes[$0] ?? $0 })
            record.set(.reason, reason)
            record.set(.media, entry[detail: "media"])
            record.set(.callerDevice, entry[detail: "caller_device"])
            record.set(.callee, entry[detail: "callee"])
            record.set(.calleeDevice, entry[detail: "callee_device"])
            record.set(.rangAt, number: entry[detail: "rang_at"])
            record.set(.answeredAt, number: entry[detail: "answered_at"])
            record.set(.endedAt, number: entry[detail: "ended_at"])
            record.set(.durationMS, number: entry[detail: "duration_ms"])
            if let callee = entry[detail: "callee"] { record.parties.insert(callee) }
        default:
            break
        }
        return record
    }
}
