import Foundation

/// What a relaying node and the active node tell each other over the bus about the WebSocket connections the
/// relaying node holds, in a compact binary form (one NATS message each).
///
/// Relaying node → active node, on `RelayMessage.inbound`: a connection opened, its text or binary messages,
/// its end, how far each connection's frames got (flow control), and that the node is alive.
/// Active node → relaying node, on `RelayMessage.outbound(to:)`: a frame for some of its connections (sent once
/// for all of them), or a close.
public enum RelayMessage: Equatable, Sendable {
    case opened(edge: String, connection: UInt64)
    case text(edge: String, connection: UInt64, Data)
    case binary(edge: String, connection: UInt64)
    case closed(edge: String, connection: UInt64)
    /// Per connection: bytes of frames received from the active node so far, and bytes still waiting for the
    /// socket.
    case progress(edge: String, [Progress])
    case alive(edge: String)
    case frame(connections: [UInt64], binary: Bool, [UInt8])
    case close(connection: UInt64, code: UInt16, reason: String)

    public struct Progress: Equatable, Sendable {
        public let connection: UInt64
        public let received: UInt64
        public let backlog: UInt64

        public init(connection: UInt64, received: UInt64, backlog: UInt64) {
            self.connection = connection
            self.received = received
            self.backlog = backlog
        }
    }

    /// The relaying node a message comes from (nil: one the active node sends).
    public var edge: String? {
        switch self {
        case .opened(let edge, _), .text(let edge, _, _), .binary(let edge, _), .closed(let edge, _),
             .progress(let edge, _), .alive(let edge):
            edge
        case .frame, .close:
            nil
        }
    }

    /// The subject of everything relaying nodes send the active node.
    public static let inbound = "liaison.relay.in"

    /// The subject of what the active node sends the relaying node `edge`.
    public static func outbound(to edge: String) -> String { "liaison.relay.out.\(edge)" }

    // MARK: Encoding

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .opened(let edge, let connection): out.header(1, edge, connection)
        case .text(let edge, let connection, let payload):
            out.header(2, edge, connection)
            out += payload
        case .binary(let edge, let connection): out.header(3, edge, connection)
        case .closed(let edge, let connection): out.header(4, edge, connection)
        case .progress(let edge, let entries):
            out.append(5)
            out.string(edge)
            out.integer(UInt32(entries.count))
            for entry in entries {
                out.integer(entry.connection)
                out.integer(entry.received)
                out.integer(entry.backlog)
            }
        case .alive(let edge):
            out.append(6)
            out.string(edge)
        case .frame(let connections, let binary, let payload):
            out = Self.frameHeader(connections: connections, binary: binary)
            out += payload
        case .close(let connection, let code, let reason):
            out.append(8)
            out.integer(connection)
            out.integer(code)
            out += Array(reason.utf8)
        }
        return out
    }

    /// The start of a `.frame` message, before its payload (so a frame's bytes are copied once, by the caller).
    public static func frameHeader(connections: [UInt64], binary: Bool) -> [UInt8] {
        var out: [UInt8] = [7, binary ? 1 : 0]
        out.integer(UInt32(connections.count))
        for connection in connections { out.integer(connection) }
        return out
    }

    /// A `.frame` message read in place: its recipients, and its payload as a part of the message's bytes
    /// (valid as long as they are), so that the one copy made of it is the frame written to the sockets.
    public struct Frame {
        public let connections: [UInt64]
        public let binary: Bool
        public let payload: UnsafeRawBufferPointer
    }

    /// `bytes` as a `.frame` message; nil if they are another kind of message, or not a whole one.
    public static func frame(in bytes: UnsafeRawBufferPointer) -> Frame? {
        var reader = Reader(bytes: bytes)
        guard reader.byte() == 7, let binary = reader.byte(), let count: UInt32 = reader.integer(),
              Int(count) <= reader.remaining / 8 else { return nil }
        var connections: [UInt64] = []
        connections.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let connection: UInt64 = reader.integer() else { return nil }
            connections.append(connection)
        }
        return Frame(connections: connections, binary: binary == 1, payload: reader.rest())
    }

    /// Decodes `bytes`; nil if they are not a whole relay message.
    public init?(_ bytes: [UInt8]) {
        guard let message = bytes.withUnsafeBytes({ Self($0) }) else { return nil }
        self = message
    }

    /// Decodes `bytes` (copying what the message keeps); nil if they are not a whole relay message.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        if let frame = Self.frame(in: bytes) {
            self = .frame(connections: frame.connections, binary: frame.binary, Array(frame.payload))
            return
        }
        var reader = Reader(bytes: bytes)
        guard let kind = reader.byte() else { return nil }
        switch kind {
        case 1, 2, 3, 4:
            guard let edge = reader.string(), let connection: UInt64 = reader.integer() else { return nil }
            switch kind {
            case 1: self = .opened(edge: edge, connection: connection)
            case 2: self = .text(edge: edge, connection: connection, Data(reader.rest()))
            case 3: self = .binary(edge: edge, connection: connection)
            default: self = .closed(edge: edge, connection: connection)
            }
        case 5:
            guard let edge = reader.string(), let count: UInt32 = reader.integer() else { return nil }
            var entries: [Progress] = []
            for _ in 0..<count {
                guard let connection: UInt64 = reader.integer(), let received: UInt64 = reader.integer(),
                      let backlog: UInt64 = reader.integer() else { return nil }
                entries.append(Progress(connection: connection, received: received, backlog: backlog))
            }
            self = .progress(edge: edge, entries)
        case 6:
            guard let edge = reader.string() else { return nil }
            self = .alive(edge: edge)
        case 8:
            guard let connection: UInt64 = reader.integer(), let code: UInt16 = reader.integer() else { return nil }
            self = .close(connection: connection, code: code, reason: String(decoding: reader.rest(), as: UTF8.self))
        default:
            return nil
        }
        guard reader.isAtEnd else { return nil }
    }
}

private extension [UInt8] {
    mutating func header(_ kind: UInt8, _ edge: String, _ connection: UInt64) {
        append(kind)
        string(edge)
        integer(connection)
    }

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8.prefix(255))
        append(UInt8(utf8.count))
        self += utf8
    }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { self += $0 }
    }
}

/// Reads a relay message front to back, in place.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func integer<T: FixedWidthInteger>() -> T? {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { return nil }
        var value: T = 0
        for byte in bytes[offset..<(offset + size)] { value = value << 8 | T(byte) }
        offset += size
        return value
    }

    mutating func string() -> String? {
        guard let count = byte(), bytes.count - offset >= Int(count) else { return nil }
        defer { offset += Int(count) }
        return String(decoding: bytes[offset..<(offset + Int(count))], as: UTF8.self)
    }

    /// What is left, in place.
    mutating func rest() -> UnsafeRawBufferPointer {
        defer { offset = bytes.count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset...])
    }
}
