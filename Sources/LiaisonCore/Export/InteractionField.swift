/// The fields of an interaction record, in the order they are written: the CSV columns, and the keys of
/// a JSONL line (which leaves out those a record does not have). A new kind of interaction adds the
/// fields it needs here.
public enum InteractionField: String, CaseIterable, Sendable {
    /// When the audit trail recorded it: ISO 8601, UTC, milliseconds.
    case time
    /// The same instant, ms since 1970.
    case ts
    /// `message`, `mod`, `call` or `room`.
    case kind
    /// What happened, per kind (`sent`; `requested`, `offered`, `claim`, `taken`, …).
    case event
    case tenant
    /// The user who acted.
    case actor
    /// The device they acted from, when known.
    case device
    case room
    /// A message's seq in its room.
    case seq
    /// A MOD request's id.
    case request
    /// A call's id.
    case call
    /// Other users the event names: those offered a MOD request, rung by a call, added to a room.
    case users
    /// The result: a claim's (`won`, `already_claimed`, …), a call's (`answered`, `declined`, `missed`, …).
    case outcome
    /// The error code when the server refused the action.
    case refused
    /// A message's kind: `text`, `system` (e.g. a call's record), `erased`.
    case messageKind = "message_kind"
    /// A message body's size in bytes.
    case size
    /// `included`, `hashed` (bodies left out), `erased` (by retention), `missing` (not in the room's
    /// files), `mismatch` (the stored body's SHA-256 is not the one the audit trail recorded).
    case bodyStatus = "body_status"
    /// The body's SHA-256 (hex), as the audit trail recorded it when the message was sent.
    case bodySHA256 = "body_sha256"
    case body
    /// When retention erased the body (ms since 1970).
    case erasedAt = "erased_at"
    /// A MOD request's area and mode.
    case area, mode
    /// A call's media (`audio`, `video`).
    case media
    case callerDevice = "caller_device"
    /// The user and device that answered a call.
    case callee
    case calleeDevice = "callee_device"
    /// When a call started ringing, was answered and ended (ms since 1970).
    case rangAt = "rang_at"
    case answeredAt = "answered_at"
    case endedAt = "ended_at"
    /// An answered call's length.
    case durationMS = "duration_ms"
    /// Why a call ended, as the server said it (`hangup`, `rejected`, `timeout`, …).
    case reason
    /// A created room's kind (`direct`, `group`, `mod`, `meeting`).
    case roomKind = "room_kind"
    /// A meeting's id, and its start (ms since 1970) when it was scheduled or moved.
    case meeting
    case startsAt = "starts_at"
    /// A meeting or call note's id and kind (`notes`, `insight`, `follow_up`); never its text.
    case note
    case noteKind = "note_kind"
    /// A shared file's id, content type and SHA-256 (hex); a message's attached files.
    case file
    case contentType = "content_type"
    case sha256
    case files
    /// The audit record this row comes from: its seq and hash (as in the audit file's `hash`).
    case auditSeq = "audit_seq"
    case auditHash = "audit_hash"
}
