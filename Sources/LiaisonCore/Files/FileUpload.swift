import Crypto
import Foundation

/// One upload being written: plaintext arrives in pieces of any size (`append`), is hashed and
/// sealed a chunk at a time into a temporary file, and `finish` syncs it and moves it into place.
/// Only a chunk's worth of plaintext is ever held. Used by one thread at a time.
public final class FileUpload: @unchecked Sendable {
    public let file: String
    public let tenant: String
    public let uploader: String
    public let name: String
    public let contentType: String
    /// The size the client announced (`Content-Length`).
    public let expectedSize: Int64
    public private(set) var received: Int64 = 0
    let temporaryPath: String
    private let fileKey = SymmetricKey(size: .bits256)
    private let dataKeys: DataKeys
    private var hash = SHA256()
    private var pending: [UInt8] = []
    private var chunkIndex: Int64 = 0
    private var output: (any AppendableFile)?
    private let fileSystem: any FileSystem

    init(file: String, tenant: String, uploader: String, name: String, contentType: String, expectedSize: Int64,
         temporaryPath: String, dataKeys: DataKeys, fileSystem: any FileSystem) throws {
        self.file = file
        self.tenant = tenant
        self.uploader = uploader
        self.name = name
        self.contentType = contentType
        self.expectedSize = expectedSize
        self.temporaryPath = temporaryPath
        self.dataKeys = dataKeys
        self.fileSystem = fileSystem
        output = try fileSystem.openForAppending(temporaryPath)
        pending.reserveCapacity(FileCipher.chunkSize)
    }

    /// Takes the next bytes of the body; more than announced is refused.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard received + Int64(bytes.count) <= expectedSize else { throw FileUploadError.tooLong }
        received += Int64(bytes.count)
        hash.update(bufferPointer: bytes)
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(FileCipher.chunkSize - pending.count, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            // A full chunk is sealed only once more follows, so the last one is known to be last.
            if pending.count == FileCipher.chunkSize, received < expectedSize || !rest.isEmpty {
                try writeChunk(last: false)
            }
        }
    }

    /// Seals the last chunk and syncs the temporary file; the record to store once it is moved in place.
    func seal(now: Millis) throws -> StoredFile {
        guard received == expectedSize else { throw FileUploadError.incomplete }
        try writeChunk(last: true)
        try output?.sync()
        output = nil
        return StoredFile(
            file: file, tenant: tenant, uploader: uploader, name: name, size: received, contentType: contentType,
            sha256: Hex.encode(hash.finalize()), createdAt: now,
            wrappedKey: try FileCipher.wrap(fileKey, file: file, with: dataKeys.current), keyID: dataKeys.currentID,
            rooms: [])
    }

    /// Forgets the upload and removes its temporary file.
    public func discard() {
        output = nil
        try? fileSystem.remove(temporaryPath)
    }

    private func writeChunk(last: Bool) throws {
        let sealed = try FileCipher.seal(pending, index: chunkIndex, last: last, file: file, key: fileKey)
        try sealed.withUnsafeBytes { try output?.append($0) }
        chunkIndex += 1
        pending.removeAll(keepingCapacity: true)
    }
}

public enum FileUploadError: Error {
    case tooLong
    case incomplete
}
