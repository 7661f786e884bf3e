/// `push.register`, `push.list` (`push.unregister` goes straight to the `PushService`).
extension Session {
    static let maxPushkeyBytes = 512

    struct PushList: Encodable, Sendable {
        /// A pusher as `push.list` shows it: without tenant and user, absent names as null.
        struct Entry: Encodable, Sendable {
            let pusher: Pusher

            enum CodingKeys: String, CodingKey {
                case gateway, pushkey, device, lang
                case appID = "app_id", pushkeyTS = "pushkey_ts", deviceName = "device_name"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(pusher.gateway, forKey: .gateway)
                try container.encode(pusher.appID, forKey: .appID)
                try container.encode(pusher.pushkey, forKey: .pushkey)
                try container.encode(pusher.pushkeyTS, forKey: .pushkeyTS)
                try container.encode(pusher.device, forKey: .device)
                try container.encode(pusher.deviceName, forKey: .deviceName)
                try container.encode(pusher.lang, forKey: .lang)
            }
        }

        let pushers: [Entry]
    }

    func pushRegister(_ params: Request.PushRegister, caller: Caller) async throws(ProtocolError) {
        for (field, value, limit) in [("gateway", params.gateway, 64), ("app_id", params.appID, 64)]
        where value.isEmpty || value.count > limit {
            throw ProtocolError(.badRequest, "field '\(field)' must be 1 to \(limit) characters")
        }
        guard !params.pushkey.isEmpty else { throw ProtocolError(.badRequest, "field 'pushkey' must not be empty") }
        guard params.pushkey.utf8.count <= Self.maxPushkeyBytes else {
            throw ProtocolError(.tooLarge, "field 'pushkey' must be at most \(Self.maxPushkeyBytes) bytes")
        }
        if let name = params.deviceName, name.count > 128 {
            throw ProtocolError(.badRequest, "field 'device_name' must be at most 128 characters")
        }
        if let lang = params.lang, lang.count > 16 {
            throw ProtocolError(.badRequest, "field 'lang' must be at most 16 characters")
        }
        try await hub.push.register(params, caller: caller)
    }

    func pushList(caller: Caller) async -> PushList {
        PushList(pushers: await hub.push.pushers(of: caller).map(PushList.Entry.init))
    }
}
