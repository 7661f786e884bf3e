import Crypto
import JWTKit

/// The HS256 key for a shared secret.
///
/// jwt-kit refuses keys shorter than the hash (32 bytes) in debug builds. HMAC itself pads every key
/// shorter than its 64-byte block with zeros, so padding the secret with zeros to 32 bytes yields the
/// very same MACs: tokens signed elsewhere with the short secret still verify.
enum HMACSecret {
    static func key(_ secret: String) -> HMACKey {
        var bytes = Array(secret.utf8)
        if bytes.count < 32 { bytes += [UInt8](repeating: 0, count: 32 - bytes.count) }
        return HMACKey(key: SymmetricKey(data: bytes))
    }
}
