import Foundation

/// A `nats-server -js` of its own on a free port, with its storage in a temporary directory; stopped when
/// the test lets go of it.
final class NATSServer {
    let url: String
    private let process = Process()
    private let storage: URL

    init() throws {
        storage = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        let port = try Self.freePort()
        url = "nats://127.0.0.1:\(port)"
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storage.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try Self.waitUntilListening(port: port)
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: storage)
    }

    /// nats-server on the PATH, or where Debian's package puts it (/usr/sbin, not on every user's PATH).
    private static var executable: String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/nats-server" } + ["/usr/sbin/nats-server"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/nats-server"
    }

    private static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func waitUntilListening(port: UInt16) throws {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "nats-server did not start on port \(port)"])
    }
}
