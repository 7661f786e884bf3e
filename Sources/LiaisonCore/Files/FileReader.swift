import Crypto
import Foundation

/// Reads a stored file's plaintext, a chunk at a time, for the byte range asked for: only the
/// chunks it covers are read and decrypted. Used by one thread at a time.
public final class FileReader: @unchecked Sendable {
    public let stored: StoredFile
    /// The plaintext bytes still to hand out: [next, end).
    private var next: Int64
    private var end: Int64
    private let path: String
    private let key: SymmetricKey
    private let fileSystem: any FileSystem

    init(stored: StoredFile, path: String, dataKeys: DataKeys, fileSystem: any FileSystem) throws {
        guard let dataKey = dataKeys.key(id: stored.keyID) else {
            throw DataKeyError("file \(stored.file) is wrapped by data key \(stored.keyID), which this server was not given")
        }
        self.stored = stored
        self.path = path
        self.fileSystem = fileSystem
        key = try FileCipher.unwrap(stored.wrappedKey, file: stored.file, with: dataKey)
        next = 0
        end = stored.size
    }

    /// Reads only `range` of the plaintext (a `Range` request), which must lie within the file.
    public func select(_ range: ClosedRange<Int64>) {
        next = range.lowerBound
        end = range.upperBound + 1
    }

    /// Plaintext bytes left to read.
    public var remaining: Int64 { end - next }

    /// The next piece of plaintext (at most one chunk), nil at the end. Throws when the bytes on disk
    /// were altered or cut short.
    public func read() throws -> [UInt8]? {
        guard next < end else { return nil }
        let index = next / Int64(FileCipher.chunkSize)
        let last = index == FileCipher.chunkCount(of: stored.size) - 1
        let plainStart = index * Int64(FileCipher.chunkSize)
        let plainCount = min(Int64(FileCipher.chunkSize), stored.size - plainStart)
        let sealed = try fileSystem.read(path, offset: UInt64(index * Int64(FileCipher.sealedChunkSize)),
                                         count: Int(plainCount) + FileCipher.tagSize)
        let plain = try FileCipher.open(sealed, index: index, last: last, file: stored.file, key: key)
        let from = Int(next - plainStart)
        let to = Int(min(end - plainStart, Int64(plain.count)))
        next = plainStart + Int64(to)
        FileMetrics.bytesOut.increment(by: to - from)
        return Array(plain[from..<to])
    }
}
