/// `push.register`, `push.unregister`, `push.list`: pushers that wake this user's devices while they
/// are not connected.
extension ClientConnection {
    /// A pusher as `push.list` reports it.
    public struct Pusher: Sendable, Equatable {
        public let gateway: String
        public let appID: String
        public let pushkey: String
        /// Seconds since the epoch when it was registered.
        public let pushkeyTS: Int
        public let device: String
        public let deviceName: String?
        public let lang: String?

        init(_ entry: JSON) throws(ClientError) {
            guard let gateway = entry["gateway"]?.string, let appID = entry["app_id"]?.string,
                  let pushkey = entry["pushkey"]?.string, let device = entry["device"]?.string
            else { throw .unexpectedReply(entry) }
            self.gateway = gateway
            self.appID = appID
            self.pushkey = pushkey
            self.pushkeyTS = entry["pushkey_ts"]?.int ?? 0
            self.device = device
            self.deviceName = entry["device_name"]?.string
            self.lang = entry["lang"]?.string
        }
    }

    /// Registers a pusher for this connection's device with the server's gateway named `gateway`.
    public func registerPusher(gateway: String, appID: String, pushkey: String, deviceName: String? = nil,
                               lang: String? = nil) async throws {
        var fields: [String: JSON] = ["gateway": .string(gateway), "app_id": .string(appID), "pushkey": .string(pushkey)]
        fields["device_name"] = deviceName.map(JSON.string)
        fields["lang"] = lang.map(JSON.string)
        _ = try await request("push.register", fields).get()
    }

    /// Removes one of this user's pushers.
    public func unregisterPusher(appID: String, pushkey: String) async throws {
        _ = try await request("push.unregister", ["app_id": .string(appID), "pushkey": .string(pushkey)]).get()
    }

    /// This user's pushers on all their devices.
    public func pushers() async throws -> [Pusher] {
        let reply = try await request("push.list").get()
        guard let entries = reply["pushers"]?.array else { throw ClientError.unexpectedReply(reply) }
        return try entries.map { entry throws(ClientError) in try Pusher(entry) }
    }
}
