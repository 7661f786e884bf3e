import Foundation

/// A file opened for appending, with explicit durability (`sync`).
public final class AppendOnlyFile: @unchecked Sendable {
    public let url: URL
    private let fd: Int32

    /// Opens (creating if needed) `url` for appending.
    public init(url: URL) throws {
        self.url = url
        fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit { close(fd) }

    /// Appends all of `bytes`.
    public func append(_ bytes: some ContiguousBytes) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                offset += written
            }
        }
    }

    /// Makes what was appended durable.
    public func sync() throws {
        guard fdatasync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}
