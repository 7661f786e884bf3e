import Crypto
import Foundation
import Testing
@testable import LiaisonCore

/// Files at rest: sealed in chunks under a per-file key, read back whole or by range, and refused
/// when their bytes were altered, cut short or are read under the wrong data key.
@Suite struct FileStorageTests {
    let fileSystem = LocalFileSystem()
    let keys = DataKeys(current: SymmetricKey(size: .bits256))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-files-\(UUID().uuidString)").path

    /// Writes `data` in pieces of `piece` bytes and returns its record and the path of its sealed bytes.
    func store(_ data: [UInt8], piece: Int = 10_000, keys: DataKeys? = nil) throws -> (StoredFile, String) {
        try fileSystem.makeDirectory(directory)
        let path = Path.join(directory, "f.part")
        let upload = try FileUpload(file: "f" + String(repeating: "a", count: 24), tenant: "t", uploader: "u", name: "x",
                                    contentType: "application/pdf", expectedSize: Int64(data.count), temporaryPath: path,
                                    dataKeys: keys ?? self.keys, fileSystem: fileSystem)
        var offset = 0
        while offset < data.count {
            let end = min(data.count, offset + piece)
            try data[offset..<end].withUnsafeBytes { try upload.append($0) }
            offset = end
        }
        return (try upload.seal(now: 0), path)
    }

    func readAll(_ reader: FileReader) throws -> [UInt8] {
        var out: [UInt8] = []
        while let piece = try reader.read() { out += piece }
        return out
    }

    @Test(arguments: [0, 1, FileCipher.chunkSize - 1, FileCipher.chunkSize, FileCipher.chunkSize + 1, 3 * FileCipher.chunkSize + 17])
    func aFileReadsBackAsItWasWrittenWhateverItsSize(size: Int) throws {
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (stored, path) = try store(data)
        #expect(stored.size == Int64(size))
        #expect(stored.sha256 == Hex.encode(SHA256.hash(data: data)))
        #expect(try fileSystem.size(of: path) == UInt64(FileCipher.sealedSize(of: Int64(size))))
        #expect(try readAll(FileReader(stored: stored, path: path, dataKeys: keys, fileSystem: fileSystem)) == data)
    }

    @Test func theBytesOnDiskAreNotThePlaintext() throws {
        let data = Array(repeating: UInt8(ascii: "A"), count: 100_000)
        let (_, path) = try store(data)
        let disk = try #require(try fileSystem.contents(of: path))
        #expect(!disk.starts(with: data.prefix(64)))
        #expect(disk.filter { $0 == UInt8(ascii: "A") }.count < 2_000)
    }

    @Test func aRangeReadsOnlyItsBytesAcrossChunkBoundaries() throws {
        let data = (0..<(2 * FileCipher.chunkSize + 100)).map { UInt8(truncatingIfNeeded: $0) }
        let (stored, path) = try store(data)
        let reader = try FileReader(stored: stored, path: path, dataKeys: keys, fileSystem: fileSystem)
        reader.select(Int64(FileCipher.chunkSize - 5)...Int64(FileCipher.chunkSize + 4))
        #expect(reader.remaining == 10)
        #expect(try readAll(reader) == Array(data[(FileCipher.chunkSize - 5)...(FileCipher.chunkSize + 4)]))
    }

    @Test func anAlteredByteIsRefused() throws {
        let (stored, path) = try store(Array(repeating: 7, count: 5000))
        var disk = try #require(try fileSystem.contents(of: path))
        disk[100] ^= 1
        try fileSystem.replace(path, with: disk)
        let reader = try FileReader(stored: stored, path: path, dataKeys: keys, fileSystem: fileSystem)
        #expect(throws: (any Error).self) { try reader.read() }
    }

    @Test func aFileCutAtAChunkBoundaryIsRefused() throws {
        let (stored, path) = try store(Array(repeating: 9, count: 2 * FileCipher.chunkSize))
        try fileSystem.truncate(path, to: UInt64(FileCipher.sealedChunkSize))
        var shortened = stored
        shortened = StoredFile(file: stored.file, tenant: stored.tenant, uploader: stored.uploader, name: stored.name,
                               size: Int64(FileCipher.chunkSize), contentType: stored.contentType, sha256: stored.sha256,
                               createdAt: 0, wrappedKey: stored.wrappedKey, keyID: stored.keyID, rooms: [])
        let reader = try FileReader(stored: shortened, path: path, dataKeys: keys, fileSystem: fileSystem)
        #expect(throws: (any Error).self) { try reader.read() }
    }

    @Test func aFileStaysReadableAfterTheDataKeyIsRotated() throws {
        let old = SymmetricKey(size: .bits256)
        let (stored, path) = try store([1, 2, 3], keys: DataKeys(current: old))
        let rotated = DataKeys(current: SymmetricKey(size: .bits256), previous: [old])
        #expect(try readAll(FileReader(stored: stored, path: path, dataKeys: rotated, fileSystem: fileSystem)) == [1, 2, 3])
        #expect(throws: DataKeyError.self) {
            try FileReader(stored: stored, path: path, dataKeys: DataKeys(current: SymmetricKey(size: .bits256)), fileSystem: fileSystem)
        }
    }

    @Test func moreBytesThanAnnouncedAreRefused() throws {
        try fileSystem.makeDirectory(directory)
        let upload = try FileUpload(file: "f1", tenant: "t", uploader: "u", name: "x", contentType: "text/plain",
                                    expectedSize: 2, temporaryPath: Path.join(directory, "g.part"), dataKeys: keys,
                                    fileSystem: fileSystem)
        #expect(throws: FileUploadError.tooLong) { try [UInt8](repeating: 0, count: 3).withUnsafeBytes { try upload.append($0) } }
    }

    @Test func contentTypesAreMatchedWithoutParametersAndByFamily() {
        var configuration = FilesConfiguration()
        #expect(configuration.allowed("Application/PDF; charset=binary") == "application/pdf")
        #expect(configuration.allowed("image/svg+xml") == nil)
        #expect(configuration.allowed("application/vnd.openxmlformats-officedocument.wordprocessingml.document") != nil)
        configuration.allowedTypes = ["image/*"]
        #expect(configuration.allowed("image/svg+xml") == "image/svg+xml")
        #expect(configuration.allowed("") == nil)
    }

    @Test func uploadedNamesLoseTheirPathsAndControlCharacters() {
        #expect(FileLibrary.cleanName("../../etc/passwd") == "passwd")
        #expect(FileLibrary.cleanName("C:\\Users\\a\\scan\u{0}.pdf") == "scan.pdf")
        #expect(FileLibrary.cleanName(nil) == "file")
        #expect(FileLibrary.cleanName("..") == "file")
    }
}
