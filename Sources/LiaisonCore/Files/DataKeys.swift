import Crypto
import Foundation

/// The server's data keys, which wrap every file's own key: the current one (new files) and earlier
/// ones still needed to read files stored before a rotation. Each is known by an id derived from it.
public struct DataKeys: Sendable {
    public let current: SymmetricKey
    public let currentID: String
    private let byID: [String: SymmetricKey]

    /// `current` and `previous` hold 32 bytes each (raw, or base64 text).
    public init(current: SymmetricKey, previous: [SymmetricKey] = []) {
        self.current = current
        currentID = Self.id(of: current)
        var byID = Dictionary(previous.map { (Self.id(of: $0), $0) }, uniquingKeysWith: { first, _ in first })
        byID[currentID] = current
        self.byID = byID
    }

    func key(id: String) -> SymmetricKey? { byID[id] }

    /// Reads a key file, or creates it (32 random bytes as base64, mode 0600) when `create` and it is absent.
    public static func load(path: String, create: Bool, fileSystem: any FileSystem = LocalFileSystem()) throws -> SymmetricKey {
        if let data = try fileSystem.contents(of: path) {
            if data.count == 32 { return SymmetricKey(data: data) }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if let decoded = Data(base64Encoded: text), decoded.count == 32 { return SymmetricKey(data: decoded) }
            throw DataKeyError("the data key \(path) must hold 32 bytes (raw or base64)")
        }
        guard create else { throw DataKeyError("no data key at \(path)") }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0) }.base64EncodedString() + "\n"
        do {
            // Made owner-only before the key is written into it, then moved in place.
            let temporary = path + ".tmp"
            try fileSystem.remove(temporary)
            let file = try fileSystem.openForAppending(temporary)
            try fileSystem.restrictToOwner(temporary)
            try file.append(Array(text.utf8))
            try file.sync()
            try fileSystem.rename(temporary, to: path)
            try fileSystem.syncDirectory(Path.parent(of: path))
        } catch {
            throw DataKeyError("the data key \(path) could not be created: \(error)")
        }
        return key
    }

    /// The first 16 hex digits of SHA-256 over the key: names it without revealing it.
    static func id(of key: SymmetricKey) -> String {
        String(Hex.encode(key.withUnsafeBytes { SHA256.hash(data: Data($0)) }).prefix(16))
    }
}

public struct DataKeyError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
