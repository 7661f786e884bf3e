#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

// epoll(7): Glibc's module map leaves out <sys/epoll.h>; these three take plain integers and
// pointers, declared here. `struct epoll_event` is packed on x86-64: 4 bytes of events, 8 of data.
@_silgen_name("epoll_create1") private func sys_epoll_create1(_ flags: Int32) -> Int32
@_silgen_name("epoll_ctl") private func sys_epoll_ctl(_ epfd: Int32, _ op: Int32, _ fd: Int32, _ event: UnsafeMutableRawPointer?) -> Int32
@_silgen_name("epoll_wait") private func sys_epoll_wait(_ epfd: Int32, _ events: UnsafeMutableRawPointer?, _ maxEvents: Int32, _ timeout: Int32) -> Int32

private enum Epoll {
    static let cloexec: Int32 = 0x80000
    static let add: Int32 = 1, del: Int32 = 2, mod: Int32 = 3
    static let input: UInt32 = 0x001, output: UInt32 = 0x004, error: UInt32 = 0x008, hangup: UInt32 = 0x010
    static let readHangup: UInt32 = 0x2000
    static let eventSize = 12

    static func ctl(_ epfd: Int32, _ op: Int32, _ fd: Int32, _ events: UInt32) {
        var raw = [UInt8](repeating: 0, count: eventSize)
        raw.withUnsafeMutableBytes { b in
            b.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: UInt64(UInt32(bitPattern: fd)), toByteOffset: 4, as: UInt64.self)
            _ = sys_epoll_ctl(epfd, op, fd, b.baseAddress)
        }
    }
}

/// A minimal WebSocket client for the receiving side of the fan-out workload: plain sockets on one
/// epoll thread, frames read straight out of a shared buffer, no per-frame allocation.
///
/// Why: libwebsockets' client loop polls every descriptor on each turn, so at thousands of busy
/// receivers the harness spent most of its CPU in poll(2) and measured itself rather than the
/// server. This client costs O(ready sockets) per turn, like the C epoll client the reference
/// figures were taken with. It only receives (and answers pings); it can send one `hello` and
/// waits for `synced` (Liaison) before a connection counts as ready.
final class EpollReceivers: @unchecked Sendable {
    /// What every receiver does with a complete text or binary message (on the epoll thread).
    typealias Handler = @Sendable (_ receiver: Int, _ payload: UnsafeRawBufferPointer) -> Void

    private enum Phase { case connecting, upgrading, authenticating, open, closed }

    private final class Conn: @unchecked Sendable {
        let fd: Int32
        let receiver: Int
        var phase = Phase.connecting
        let request: [UInt8]
        let hello: [UInt8]?
        var pending: [UInt8] = []  // bytes of an incomplete frame or response
        var fragments: [UInt8] = []
        var closeCode: Int?

        init(fd: Int32, receiver: Int, request: [UInt8], hello: [UInt8]?) {
            self.fd = fd
            self.receiver = receiver
            self.request = request
            self.hello = hello
        }
    }

    private let epfd: Int32
    private let handler: Handler
    private let conns = Mutex<[Int32: Conn]>([:])
    private let stopFlag = Atomic<Bool>(false)
    private let threadDone = Atomic<Bool>(false)
    let ready = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let closedWhileOpen = Atomic<Int>(0)
    private let failures = Mutex<[String: Int]>([:])

    init(handler: @escaping Handler) {
        epfd = sys_epoll_create1(Epoll.cloexec)
        self.handler = handler
        let thread = Thread { [self] in loop() }
        thread.start()
    }

    private func fail(_ why: String) {
        failures.withLock { $0[why, default: 0] += 1 }
    }

    var failureCounts: [String: Int] { failures.withLock { $0 } }

    /// Starts connecting receiver `receiver`; `hello` (a JSON text) is sent after the upgrade, and
    /// then the connection is ready on `synced`; without it, ready right after the upgrade.
    func connect(host: String, port: Int, path: String, subprotocol: String, source: String?, receiver: Int,
                 hello: String?) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            fail("socket: errno \(errno)")
            failed.add(1, ordering: .relaxed)
            return
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound != 0 {
                fail("bind \(source): errno \(errno)")
                close(fd)
                failed.add(1, ordering: .relaxed)
                return
            }
        }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &remote.sin_addr)
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: bGlhaXNvbi1sb2FkdGVzdA==\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Protocol: \(subprotocol)\r\nOrigin: http://\(host)\r\n\r\n"
        let conn = Conn(fd: fd, receiver: receiver, request: Array(request.utf8),
                        hello: hello.map { Self.maskedFrame(opcode: 1, Array($0.utf8)) })
        conns.withLock { $0[fd] = conn }
        let rc = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS {
            fail("connect: errno \(errno)")
            conns.withLock { _ = $0.removeValue(forKey: fd) }
            close(fd)
            failed.add(1, ordering: .relaxed)
            return
        }
        Epoll.ctl(epfd, Epoll.add, fd, Epoll.input | Epoll.output | Epoll.readHangup)
    }

    /// Connections that are ready and still open.
    var openCount: Int { conns.withLock { $0.values.filter { $0.phase == .open }.count } }

    /// Closes everything and stops the thread.
    func shutdown() {
        stopFlag.store(true, ordering: .relaxed)
        for _ in 0..<300 where !threadDone.load(ordering: .relaxed) { usleep(10_000) }
        let all = conns.withLock { c -> [Conn] in defer { c = [:] }; return Array(c.values) }
        for conn in all {
            if conn.phase == .open {
                var frame = Self.maskedFrame(opcode: 8, [0x03, 0xE8])
                _ = frame.withUnsafeMutableBytes { send(conn.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            close(conn.fd)
        }
        close(epfd)
    }

    // MARK: The epoll thread

    private func loop() {
        let maxEvents = 512
        let events = UnsafeMutableRawPointer.allocate(byteCount: maxEvents * Epoll.eventSize, alignment: 16)
        defer { events.deallocate() }
        let bufferSize = 1 << 18
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        while !stopFlag.load(ordering: .relaxed) {
            let n = sys_epoll_wait(epfd, events, Int32(maxEvents), 50)
            if n < 0 { if errno == EINTR { continue } else { break } }
            for i in 0..<Int(n) {
                let flags = events.loadUnaligned(fromByteOffset: i * Epoll.eventSize, as: UInt32.self)
                let fd = Int32(truncatingIfNeeded: events.loadUnaligned(fromByteOffset: i * Epoll.eventSize + 4, as: UInt64.self))
                guard let conn = conns.withLock({ $0[fd] }) else { continue }
                service(conn, flags: flags, buffer: buffer, size: bufferSize)
            }
        }
        threadDone.store(true, ordering: .relaxed)
    }

    private func service(_ conn: Conn, flags: UInt32, buffer: UnsafeMutableRawPointer, size: Int) {
        if conn.phase == .connecting {
            if flags & (Epoll.error | Epoll.hangup) != 0 {
                drop(conn, why: "connect failed")
                return
            }
            guard flags & Epoll.output != 0 else { return }
            guard writeAll(conn, conn.request) else { return }
            conn.phase = .upgrading
            Epoll.ctl(epfd, Epoll.mod, conn.fd, Epoll.input | Epoll.readHangup)
        }
        guard flags & (Epoll.input | Epoll.readHangup | Epoll.hangup | Epoll.error) != 0 else { return }
        // Read until the socket is empty (edge or level, either is fine).
        while conn.phase != .closed {
            let got = recv(conn.fd, buffer, size, 0)
            if got == 0 {
                drop(conn, why: "closed by the server\(conn.closeCode.map { " (\($0))" } ?? "")")
                return
            }
            if got < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                if errno == EINTR { continue }
                drop(conn, why: "recv: errno \(errno)")
                return
            }
            if conn.pending.isEmpty {
                let used = consume(conn, UnsafeRawBufferPointer(start: buffer, count: got))
                if used < got { conn.pending.append(contentsOf: UnsafeRawBufferPointer(start: buffer + used, count: got - used)) }
            } else {
                conn.pending.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: got))
                let bytes = conn.pending
                let used = bytes.withUnsafeBytes { consume(conn, $0) }
                conn.pending.removeFirst(used)
            }
            if got < size { return }
        }
    }

    /// Handles whatever complete units `bytes` starts with; returns how many bytes were used.
    private func consume(_ conn: Conn, _ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        if conn.phase == .upgrading {
            guard let end = RawScan.find("\r\n\r\n", in: bytes) else { return 0 }
            let status = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<min(end, 12)]), as: UTF8.self)
            guard status.hasSuffix("101") else {
                drop(conn, why: "upgrade refused: \(status)")
                return bytes.count
            }
            offset = end + 4
            if let hello = conn.hello {
                guard writeAll(conn, hello) else { return bytes.count }
                conn.phase = .authenticating
            } else {
                conn.phase = .open
                ready.add(1, ordering: .relaxed)
            }
        }
        while conn.phase == .open || conn.phase == .authenticating {
            let available = bytes.count - offset
            guard available >= 2 else { break }
            let b0 = bytes[offset], b1 = bytes[offset + 1]
            var length = Int(b1 & 0x7F)
            var header = 2
            if length == 126 {
                guard available >= 4 else { break }
                length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                header = 4
            } else if length == 127 {
                guard available >= 10 else { break }
                length = 0
                for i in 2..<10 { length = length << 8 | Int(bytes[offset + i]) }
                header = 10
            }
            if b1 & 0x80 != 0 { header += 4 }  // servers do not mask; skip a key if one came
            guard available >= header + length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<(offset + header + length)])
            offset += header + length
            let opcode = b0 & 0x0F
            let fin = b0 & 0x80 != 0
            switch opcode {
            case 0, 1, 2:
                if !fin || !conn.fragments.isEmpty {
                    conn.fragments.append(contentsOf: payload)
                    if fin {
                        let message = conn.fragments
                        conn.fragments = []
                        message.withUnsafeBytes { deliver(conn, $0) }
                    }
                } else {
                    deliver(conn, payload)
                }
            case 8:
                conn.closeCode = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                _ = writeAll(conn, Self.maskedFrame(opcode: 8, Array(payload.prefix(2))))
                drop(conn, why: "closed by the server (\(conn.closeCode!))")
                return bytes.count
            case 9:
                _ = writeAll(conn, Self.maskedFrame(opcode: 10, Array(payload)))
            default:
                break
            }
        }
        return offset
    }

    private func deliver(_ conn: Conn, _ payload: UnsafeRawBufferPointer) {
        if conn.phase == .authenticating {
            if RawScan.contains(#""type":"synced""#, in: payload) {
                conn.phase = .open
                ready.add(1, ordering: .relaxed)
            } else if RawScan.contains(#""type":"error""#, in: payload) {
                drop(conn, why: "hello refused: \(RawScan.string(after: #""code":""#, in: payload) ?? "?")")
            }
            return
        }
        handler(conn.receiver, payload)
    }

    private func drop(_ conn: Conn, why: String) {
        guard conn.phase != .closed else { return }
        let wasOpen = conn.phase == .open
        if wasOpen {
            closedWhileOpen.add(1, ordering: .relaxed)
        } else {
            failed.add(1, ordering: .relaxed)
        }
        fail(why)
        conn.phase = .closed
        _ = sys_epoll_ctl(epfd, Epoll.del, conn.fd, nil)
        conns.withLock { _ = $0.removeValue(forKey: conn.fd) }
        close(conn.fd)
    }

    /// Writes all of `bytes` (small control frames and the handshake; waits briefly if the socket is full).
    private func writeAll(_ conn: Conn, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        var spins = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(conn.fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) && spins < 1000 {
                spins += 1
                usleep(100)
            } else {
                drop(conn, why: "send: errno \(errno)")
                return false
            }
        }
        return true
    }

    /// A client frame (masked with a zero key, which leaves the payload as it is).
    static func maskedFrame(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count < 65536 {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for i in (0..<8).reversed() { frame.append(UInt8((payload.count >> (8 * i)) & 0xFF)) }
        }
        frame += [0, 0, 0, 0]
        return frame + payload
    }
}
