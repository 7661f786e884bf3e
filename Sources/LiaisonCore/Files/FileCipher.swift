import Crypto
import Foundation

/// How a file is encrypted at rest: AES-256-GCM under a random key of its own, in chunks of
/// `chunkSize` plaintext bytes, each sealed with a nonce made of its index and bound to the file's id
/// and to whether it is the last chunk — so chunks cannot be moved, swapped between files or cut off.
/// The file key is stored wrapped (sealed) by the server's data key.
public enum FileCipher {
    /// Plaintext bytes per chunk.
    public static let chunkSize = 64 * 1024
    /// The GCM tag each sealed chunk carries.
    static let tagSize = 16
    /// Bytes of one full sealed chunk on disk.
    static let sealedChunkSize = chunkSize + tagSize

    /// Bytes on disk for `size` plaintext bytes (an empty file is one empty sealed chunk).
    static func sealedSize(of size: Int64) -> Int64 {
        let chunks = max(1, (size + Int64(chunkSize) - 1) / Int64(chunkSize))
        return size + chunks * Int64(tagSize)
    }

    /// Number of chunks for `size` plaintext bytes.
    static func chunkCount(of size: Int64) -> Int64 {
        max(1, (size + Int64(chunkSize) - 1) / Int64(chunkSize))
    }

    static func seal(_ plaintext: some DataProtocol, index: Int64, last: Bool, file: String, key: SymmetricKey) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce(index), authenticating: aad(file: file, last: last))
        return Array(box.ciphertext) + Array(box.tag)
    }

    static func open(_ sealed: [UInt8], index: Int64, last: Bool, file: String, key: SymmetricKey) throws -> [UInt8] {
        guard sealed.count >= tagSize else { throw FileCipherError.truncated }
        let box = try AES.GCM.SealedBox(nonce: nonce(index), ciphertext: sealed.dropLast(tagSize), tag: sealed.suffix(tagSize))
        return Array(try AES.GCM.open(box, using: key, authenticating: aad(file: file, last: last)))
    }

    /// The file key sealed by the data key, bound to the file's id (nonce, ciphertext and tag).
    static func wrap(_ fileKey: SymmetricKey, file: String, with dataKey: SymmetricKey) throws -> Data {
        let bytes = fileKey.withUnsafeBytes { Data($0) }
        guard let combined = try AES.GCM.seal(bytes, using: dataKey, authenticating: Data(file.utf8)).combined else {
            throw FileCipherError.truncated
        }
        return combined
    }

    static func unwrap(_ wrapped: Data, file: String, with dataKey: SymmetricKey) throws -> SymmetricKey {
        SymmetricKey(data: try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: dataKey, authenticating: Data(file.utf8)))
    }

    private static func nonce(_ index: Int64) throws -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: UInt64(index).bigEndian) { bytes.replaceSubrange(4..<12, with: $0) }
        return try AES.GCM.Nonce(data: bytes)
    }

    private static func aad(file: String, last: Bool) -> Data {
        Data(file.utf8) + [last ? 1 : 0]
    }
}

enum FileCipherError: Error {
    case truncated
}
