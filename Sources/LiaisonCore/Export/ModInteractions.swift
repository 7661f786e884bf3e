/// MOD requests: a row per step — requested (offered to whom), offered (to an expert who connected
/// later), claim (won, or why it lost), taken (the winner and the room it opened), declined, cancelled,
/// expired.
struct ModInteractions: InteractionRecordBuilder {
    private static let events = [
        "mod.request": "requested", "mod.offer": "offered", "mod.claim": "claim", "mod.taken": "taken",
        "mod.decline": "declined", "mod.cancel": "cancelled", "mod.expire": "expired",
    ]
    /// The steps after which nothing more happens to a request.
    private static let final: Set<String> = ["mod.taken", "mod.cancel", "mod.expire"]

    var actions: Set<String> { Set(Self.events.keys) }

    func build(_ entry: AuditEntry, state: inout ExportState) -> InteractionRecord? {
        let action = entry.record.action
        guard let request = entry[detail: "request"], let event = Self.events[action] else { return nil }
        var record = InteractionRecord(entry, kind: "mod", event: event)
        record.set(.request, request)
        switch action {
        case "mod.request":
            record.set(users: entry.list("offered_to"))
            record.set(.area, entry[detail: "area"])
            record.set(.mode, entry[detail: "mode"])
        case "mod.offer":
            record.set(users: entry.list("offered_to"))
        case "mod.claim":
            record.set(.outcome, entry[detail: "outcome"].map(Self.snakeCase))
        case "mod.taken":
            record.set(.room, entry[detail: "room"])
        default:
            break
        }
        // Everyone the request reached so far: the requester, the experts offered it, those who answered.
        record.parties.formUnion(state.requestParties[request] ?? [])
        state.requestParties[request] = Self.final.contains(action) ? nil : record.parties
        return record
    }

    /// `alreadyClaimed` → `already_claimed`.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
        return result
    }
}
