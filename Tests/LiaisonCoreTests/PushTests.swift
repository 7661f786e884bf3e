import Foundation
import Testing
@testable import LiaisonCore

/// Pushers (`PusherBook`) and the notifications sent for them (`PushNotification`).
@Suite struct PushTests {
    func pusher(_ user: String, _ device: String, _ pushkey: String, app: String = "app") -> Pusher {
        Pusher(tenant: "t", user: user, device: device, gateway: "main", appID: app, pushkey: pushkey, pushkeyTS: 1,
               deviceName: nil, lang: nil)
    }

    @Test func aPushkeyRegisteredByAnotherUserMovesToThem() throws {
        var book = PusherBook()
        try book.register(pusher("ana", "phone", "k"), limitPerDevice: 10)
        try book.register(pusher("ben", "phone", "k"), limitPerDevice: 10)
        #expect(book.pushers(of: UserKey(tenant: "t", user: "ana")).isEmpty)
        #expect(book.pushers(of: UserKey(tenant: "t", user: "ben")).map(\.pushkey) == ["k"])
    }

    @Test func registeringAgainOnTheSameDeviceUpdatesWithinTheLimit() throws {
        var book = PusherBook()
        try book.register(pusher("ana", "phone", "k1"), limitPerDevice: 2)
        try book.register(pusher("ana", "phone", "k2"), limitPerDevice: 2)
        var updated = pusher("ana", "phone", "k2")
        updated.lang = "fr"
        try book.register(updated, limitPerDevice: 2)
        #expect(throws: ProtocolError(.tooLarge, "device 'phone' already has 2 pushers, the most allowed; unregister one first")) {
            try book.register(pusher("ana", "phone", "k3"), limitPerDevice: 2)
        }
        try book.register(pusher("ana", "tablet", "k3"), limitPerDevice: 2)
        #expect(book.pushers(of: UserKey(tenant: "t", user: "ana")).map(\.pushkey) == ["k1", "k2", "k3"])
        #expect(book.pushers(of: UserKey(tenant: "t", user: "ana"))[1].lang == "fr")
    }

    @Test func onlyTheOwnerUnregisters() throws {
        var book = PusherBook()
        try book.register(pusher("ana", "phone", "k"), limitPerDevice: 10)
        #expect(throws: ProtocolError(.notFound, "no pusher with that app_id and pushkey")) {
            try book.unregister(PusherKey(appID: "app", pushkey: "k"), of: UserKey(tenant: "t", user: "ben"))
        }
        try book.unregister(PusherKey(appID: "app", pushkey: "k"), of: UserKey(tenant: "t", user: "ana"))
        #expect(book.all.isEmpty)
    }

    @Test func rejectionRemovesOnlyPushersStillOwnedAsSent() throws {
        var book = PusherBook()
        let sent = [pusher("ana", "phone", "dead"), pusher("ana", "phone", "alive")]
        for one in sent { try book.register(one, limitPerDevice: 10) }
        try book.register(pusher("ben", "phone", "alive"), limitPerDevice: 10)  // moved since it was sent
        let removed = book.reject(["dead", "alive"], among: sent)
        #expect(removed.map(\.pushkey) == ["dead"])
        #expect(book.all.map(\.pushkey) == ["alive"])
    }

    @Test func notificationHoldsNoContentOrNamesUnlessFull() throws {
        var notification = PushNotification(kind: .message, eventID: "r1:3", roomID: "r1", sender: "mika",
                                            senderName: "Mika Laine", content: ["body": "secret dosage"])
        notification.unread = 2
        let minimal = String(decoding: notification.body(for: [pusher("ana", "phone", "k")], fullContent: false), as: UTF8.self)
        #expect(minimal == #"{"notification":{"counts":{"missed_calls":0,"unread":2},"devices":[{"app_id":"app","data":{},"pushkey":"k","pushkey_ts":1}],"event_id":"r1:3","prio":"low","room_id":"r1","sender":"mika","type":"liaison.msg"}}"#)
        let full = String(decoding: notification.body(for: [pusher("ana", "phone", "k")], fullContent: true), as: UTF8.self)
        #expect(full.contains(#""content":{"body":"secret dosage"}"#) && full.contains(#""sender_display_name":"Mika Laine""#))
    }

    @Test func notifyURLAppendsTheAPIPathOnce() {
        #expect(PushConfiguration.notifyURL("https://push.example") == "https://push.example/_matrix/push/v1/notify")
        #expect(PushConfiguration.notifyURL("https://push.example/") == "https://push.example/_matrix/push/v1/notify")
        #expect(PushConfiguration.notifyURL("https://push.example/_matrix/push/v1/notify") == "https://push.example/_matrix/push/v1/notify")
    }
}
