/// One row of the interaction record: one audited event of an interaction (a message sent, a step of a
/// MOD request, of a call, of a room's membership), with the hash of the audit record it comes from.
public struct InteractionRecord: Sendable {
    /// A field's value.
    public enum Value: Sendable, Equatable {
        case text(String)
        case number(Int64)
        case list([String])
    }

    /// When the audit trail recorded it (ms since 1970).
    public let ts: Millis
    public private(set) var values: [InteractionField: Value] = [:]
    /// The room it happened in, if any (the `room` filter).
    public var room: String? {
        if case .text(let room) = values[.room] { room } else { nil }
    }
    /// Everyone who took part or could see it (the `user` filter): the actor, the users it names, and for
    /// anything in a room the room's members at the time.
    var parties: Set<String> = []

    /// A row for `entry`: its time, tenant, actor, device, refusal and audit seq and hash.
    init(_ entry: AuditEntry, kind: String, event: String) {
        ts = entry.record.ts
        set(.time, ExportTime.format(ts))
        set(.ts, ts)
        set(.kind, kind)
        set(.event, event)
        set(.tenant, entry.record.tenant)
        set(.actor, entry.record.actor)
        set(.device, entry.record.device)
        set(.refused, entry.record.code)
        set(.auditSeq, Int64(entry.record.seq))
        set(.auditHash, entry.hash)
        if let actor = entry.record.actor { parties.insert(actor) }
    }

    public subscript(field: InteractionField) -> Value? { values[field] }

    mutating func set(_ field: InteractionField, _ text: String?) {
        values[field] = text.map(Value.text)
    }

    mutating func set(_ field: InteractionField, _ number: Int64?) {
        values[field] = number.map(Value.number)
    }

    /// A number the audit trail holds as text (left out when it is not one).
    mutating func set(_ field: InteractionField, number text: String?) {
        set(field, text.flatMap { Int64($0) })
    }

    /// A list (left out when empty).
    mutating func set(_ field: InteractionField, list: [String]) {
        values[field] = list.isEmpty ? nil : .list(list)
    }

    /// The users the event names (left out when none); they become parties.
    mutating func set(users: [String]) {
        values[.users] = users.isEmpty ? nil : .list(users)
        parties.formUnion(users)
    }
}
