/// One device's registration with a push gateway: how the app on a device that is not connected is
/// woken (Matrix Push Gateway API's pusher).
public struct Pusher: Codable, Sendable, Equatable {
    public var tenant: String
    public var user: String
    public var device: String
    /// The operator's name for the gateway (`--push-gateway NAME=URL`); never a URL from a client.
    public var gateway: String
    public var appID: String
    public var pushkey: String
    /// Seconds since the epoch when it was registered.
    public var pushkeyTS: Int64
    public var deviceName: String?
    public var lang: String?

    enum CodingKeys: String, CodingKey {
        case tenant, user, device, gateway, lang
        case appID = "app_id", pushkey, pushkeyTS = "pushkey_ts", deviceName = "device_name"
    }

    var owner: UserKey { UserKey(tenant: tenant, user: user) }
    /// Unique server-wide: the same key registered again moves to its new owner.
    var key: PusherKey { PusherKey(appID: appID, pushkey: pushkey) }
}

/// A pusher's identity: (`app_id`, `pushkey`).
struct PusherKey: Hashable, Sendable {
    let appID: String
    let pushkey: String
}
