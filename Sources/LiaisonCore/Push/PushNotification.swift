import Foundation

/// One notification for a gateway, in the Matrix Push Gateway API's shape. PHI (message body, question,
/// display names) goes in only with `--push-content full`.
struct PushNotification: Sendable {
    enum Kind: String, Sendable {
        case message = "liaison.msg"
        case modOffer = "liaison.mod.offer"
        case callRing = "liaison.call.ring"
        case meeting = "liaison.meeting"
    }

    let kind: Kind
    /// `ROOM:SEQ` of a message, the MOD request id, the call id, the meeting id.
    let eventID: String
    let roomID: String?
    /// The user id of the sender, requester or caller.
    let sender: String
    var unread = 0
    var missedCalls = 0
    /// For `--push-content full` only.
    let senderName: String
    let content: [String: String]

    /// Set for a meeting reminder; MOD offers and calls are always urgent.
    var highPriority = false

    /// `high` for what is urgent (MOD offers, calls, meeting reminders).
    var prio: String { highPriority || kind == .modOffer || kind == .callRing ? "high" : "low" }

    /// The POST body for `devices` (pushers of one gateway).
    func body(for devices: [Pusher], fullContent: Bool) -> [UInt8] {
        var notification: [String: Any] = [
            "event_id": eventID, "type": kind.rawValue, "sender": sender, "prio": prio,
            "counts": ["unread": unread, "missed_calls": missedCalls],
            "devices": devices.map { pusher in
                ["app_id": pusher.appID, "pushkey": pusher.pushkey, "pushkey_ts": pusher.pushkeyTS, "data": [String: Any]()]
            },
        ]
        notification["room_id"] = roomID
        if fullContent {
            notification["sender_display_name"] = senderName
            notification["content"] = content
        }
        let data = try? JSONSerialization.data(withJSONObject: ["notification": notification], options: [.sortedKeys])
        return Array(data ?? Data())
    }
}
