import Foundation

/// One notification for a gateway, in the Matrix Push Gateway API's shape. PHI (message body, question,
/// display names) goes in only with `--push-content full`.
struct PushNotification: Sendable {
    enum Kind: String, Sendable {
        case message = "liaison.msg"
        case modOffer = "liaison.mod.offer"
        case callRing = "liaison.call.ring"
    }

    let kind: Kind
    /// `ROOM:SEQ` of a message, the MOD request id, the call id.
    let eventID: String
    let roomID: String?
    /// The user id of the sender, requester or caller.
    let sender: String
    var unread = 0
    var missedCalls = 0
    /// For `--push-content full` only.
    let senderName: String
    let content: [String: String]

    var prio: String { kind == .message ? "low" : "high" }

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
