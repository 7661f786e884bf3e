import Foundation
import Logging
@testable import LiaisonCore

// The storage types on the machine's file system, addressed by URL as the older tests do.

extension Journal {
    convenience init(directory: URL, mode: FsyncMode, lastSegment: UInt64) throws {
        try self.init(directory: directory.path, mode: mode, lastSegment: lastSegment, fileSystem: LocalFileSystem())
    }

    static func url(of segment: UInt64, in directory: URL) -> URL {
        URL(fileURLWithPath: path(of: segment, in: directory.path))
    }

    static func segments(in directory: URL) -> [(number: UInt64, url: URL)] {
        ((try? segments(in: directory.path, fileSystem: LocalFileSystem())) ?? []).map { ($0.number, URL(fileURLWithPath: $0.path)) }
    }

    static func recover(_ directory: URL, logger: Logger) throws -> (records: [Data], lastSegment: UInt64) {
        try recover(directory.path, fileSystem: LocalFileSystem(), logger: logger)
    }
}

extension AuditLog {
    convenience init(url: URL) throws {
        try self.init(path: url.path, fileSystem: LocalFileSystem())
    }
}

extension UserDirectory {
    convenience init(directory: URL) throws {
        try self.init(directory: directory.path, fileSystem: LocalFileSystem(), io: IOQueue(label: "test.storage"))
    }
}

extension RoomArchive {
    init(roomsDirectory: URL, room: String) {
        self.init(roomsDirectory: roomsDirectory.path, room: room, fileSystem: LocalFileSystem())
    }

    static func loadAll(_ roomsDirectory: URL) throws -> [Meta] {
        try FileManager.default.createDirectory(at: roomsDirectory, withIntermediateDirectories: true)
        return try loadAll(roomsDirectory.path, fileSystem: LocalFileSystem())
    }
}
