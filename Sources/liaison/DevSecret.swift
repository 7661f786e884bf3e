import Crypto
import Foundation
import LiaisonCore

/// The HS256 secret used when none is configured: random, created once, kept in the data directory.
enum DevSecret {
    static let fileName = "dev-secret"

    static func load(in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(fileName)
        if let existing = try? String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           !existing.isEmpty {
            return existing
        }
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { bytes in
            Hex.encode(bytes)
        }
        try Data((secret + "\n").utf8).write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        return secret
    }
}
