import Crypto
import Foundation

/// `turn.credentials`: short-lived TURN credentials in the TURN REST API form.
extension Session {
    struct TURNCredentials: Encodable, Sendable {
        let urls: [String]
        let username: String
        let credential: String
        let ttl: Int
    }

    /// Username `EXPIRY:USER` (expiry in Unix seconds); credential the base64 HMAC-SHA1 of the username
    /// keyed with the secret shared with the TURN server.
    func turnCredentials(caller: Caller) throws(ProtocolError) -> TURNCredentials {
        let configuration = hub.configuration
        guard let secret = configuration.turnSecret, !configuration.turnURLs.isEmpty else {
            throw ProtocolError(.notFound, "no TURN server is configured (liaison serve --turn-urls and --turn-secret)")
        }
        let ttl = Int(configuration.turnTTL)
        let expiry = Int(Date().timeIntervalSince1970) + ttl
        let username = "\(expiry):\(caller.record.user)"
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        hub.audit.record(AuditEvent("turn.credentials", tenant: caller.record.tenant, actor: caller.record.user,
                                    device: caller.device, detail: ["expires": String(expiry)]))
        return TURNCredentials(urls: configuration.turnURLs, username: username,
                               credential: Data(mac).base64EncodedString(), ttl: ttl)
    }
}
