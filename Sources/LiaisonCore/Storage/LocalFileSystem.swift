import Foundation

/// The machine's file system, through POSIX calls (`fdatasync` for files, `fsync` for directories).
public struct LocalFileSystem: FileSystem {
    public init() {}

    public func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public func contents(of path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw POSIXError.current
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError.current
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    public func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError.current }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw POSIXError.current
            }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes.prefix(filled))
    }

    public func size(of path: String) throws -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw POSIXError.current
        }
        return UInt64(info.st_size)
    }

    public func list(_ directory: String) throws -> [String] {
        guard exists(directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory)
    }

    public func createDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw POSIXError.current }
    }

    public func openForAppending(_ path: String) throws -> any AppendableFile {
        try LocalAppendableFile(path: path)
    }

    public func truncate(_ path: String, to length: UInt64) throws {
        guard Foundation.truncate(path, off_t(length)) == 0 else { throw POSIXError.current }
    }

    public func overwrite(_ path: String, at offset: UInt64, with bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError.current }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXError.current
            }
            done += written
        }
    }

    public func rename(_ source: String, to destination: String) throws {
        guard Foundation.rename(source, destination) == 0 else { throw POSIXError.current }
    }

    public func restrictToOwner(_ path: String) throws {
        guard chmod(path, 0o600) == 0 else { throw POSIXError.current }
    }

    public func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw POSIXError.current }
    }

    public func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError.current }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw POSIXError.current }
    }
}

/// A file descriptor opened with `O_APPEND`.
final class LocalAppendableFile: AppendableFile {
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError.current }
    }

    deinit { close(fd) }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXError.current
            }
            offset += written
        }
    }

    func sync() throws {
        guard fdatasync(fd) == 0 else { throw POSIXError.current }
    }
}

extension POSIXError {
    /// The error `errno` names now.
    static var current: POSIXError { POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}
