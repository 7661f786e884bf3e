/// Reading and writing JSON text (RFC 8259) for ``JSON`` values.
///
/// Hand-written rather than going through `JSONSerialization` because the
/// load-test harness parses and encodes every frame of thousands of
/// connections on two cores: this works straight on the bytes, with no
/// bridging and no intermediate `Any`.

/// A JSON text that could not be parsed.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// Byte offset where parsing stopped.
    public let offset: Int
    /// What was wrong there.
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

// MARK: - Parsing

extension JSON {
    /// Parses a complete JSON text (surrounding whitespace allowed).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSON {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONParseError(offset: 0, reason: "empty input")
        }
        var parser = JSONParser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        return try parser.parseDocument()
    }

    /// Parses a complete JSON text.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSON {
        do {
            return try bytes.withUnsafeBytes { raw in try JSON.parse(raw) }
        } catch let error as JSONParseError {
            throw error
        } catch {
            fatalError("unreachable")
        }
    }

    /// Parses a complete JSON text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8))
    }
}

struct JSONParser {
    let base: UnsafePointer<UInt8>
    let count: Int
    var pos = 0
    var depth = 0
    static let maxDepth = 512

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    mutating func parseDocument() throws(JSONParseError) -> JSON {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard pos == count else { throw fail("trailing characters") }
        return value
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: pos, reason: reason) }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < count {
            switch base[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSON {
        guard pos < count else { throw fail("unexpected end") }
        switch base[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let n = literal.utf8CodeUnitCount
        guard pos + n <= count else { throw fail("unexpected end") }
        let lit = literal.utf8Start
        for i in 0..<n where base[pos + i] != lit[i] {
            throw fail("invalid literal")
        }
        pos += n
    }

    mutating func parseObject() throws(JSONParseError) -> JSON {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting too deep") }
        defer { depth -= 1 }
        pos += 1  // {
        var members: [String: JSON] = [:]
        skipWhitespace()
        if pos < count, base[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard pos < count, base[pos] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard pos < count, base[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            pos += 1
            skipWhitespace()
            members[key] = try parseValue()
            skipWhitespace()
            guard pos < count else { throw fail("unexpected end") }
            if base[pos] == UInt8(ascii: ",") {
                pos += 1
            } else if base[pos] == UInt8(ascii: "}") {
                pos += 1
                return .object(members)
            } else {
                throw fail("expected ',' or '}'")
            }
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSON {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting too deep") }
        defer { depth -= 1 }
        pos += 1  // [
        var elements: [JSON] = []
        skipWhitespace()
        if pos < count, base[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard pos < count else { throw fail("unexpected end") }
            if base[pos] == UInt8(ascii: ",") {
                pos += 1
            } else if base[pos] == UInt8(ascii: "]") {
                pos += 1
                return .array(elements)
            } else {
                throw fail("expected ',' or ']'")
            }
        }
    }

    /// Parses a string starting at the opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes.
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            pos += 1
        }
        guard pos < count else { throw fail("unterminated string") }
        var bytes = [UInt8](UnsafeBufferPointer(start: base + start, count: pos - start))
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: bytes, as: UTF8.self)
            }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") {
                bytes.append(c)
                pos += 1
                continue
            }
            pos += 1
            guard pos < count else { break }
            let e = base[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if pos + 1 < count, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") {
                        pos += 2
                        let low = try parseHex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            appendScalar(0xFFFD, to: &bytes)
                            scalar = low
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    scalar = 0xFFFD
                }
                appendScalar(scalar, to: &bytes)
            default:
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= count else { throw fail("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = base[pos]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | digit
            pos += 1
        }
        return value
    }

    func appendScalar(_ value: UInt32, to bytes: inout [UInt8]) {
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        bytes.append(contentsOf: UTF8.encode(scalar)!)
    }

    mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = pos
        var negative = false
        if base[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < count, isDigit(base[pos]) else { throw fail("invalid number") }
        var integer: Int64 = 0
        var digits = 0
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while pos < count, isDigit(base[pos]) {
                if digits < 18 { integer = integer * 10 + Int64(base[pos] - UInt8(ascii: "0")) }
                digits += 1
                pos += 1
            }
        }
        var simple = digits <= 15
        if pos < count, base[pos] == UInt8(ascii: ".") {
            simple = false
            pos += 1
            guard pos < count, isDigit(base[pos]) else { throw fail("invalid number") }
            while pos < count, isDigit(base[pos]) { pos += 1 }
        }
        if pos < count, base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E") {
            simple = false
            pos += 1
            if pos < count, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < count, isDigit(base[pos]) else { throw fail("invalid number") }
            while pos < count, isDigit(base[pos]) { pos += 1 }
        }
        if simple {
            return Double(negative ? -integer : integer)
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
        guard let value = Double(text) else { throw fail("invalid number") }
        return value
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}

// MARK: - Encoding

extension JSON {
    /// Appends the compact JSON text of this value to `buffer`.
    ///
    /// With `sortedKeys`, object members are written in key order (stable output for files).
    public func encode(into buffer: inout [UInt8], sortedKeys: Bool = false) {
        switch self {
        case .null:
            buffer.append(contentsOf: "null".utf8)
        case .bool(let value):
            buffer.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let value):
            JSON.encodeNumber(value, into: &buffer)
        case .string(let value):
            JSON.encodeString(value, into: &buffer)
        case .array(let elements):
            buffer.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { buffer.append(UInt8(ascii: ",")) }
                element.encode(into: &buffer, sortedKeys: sortedKeys)
            }
            buffer.append(UInt8(ascii: "]"))
        case .object(let members):
            buffer.append(UInt8(ascii: "{"))
            var first = true
            let ordered: [(key: String, value: JSON)] = sortedKeys ? members.sorted { $0.key < $1.key } : Array(members)
            for (key, value) in ordered {
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                JSON.encodeString(key, into: &buffer)
                buffer.append(UInt8(ascii: ":"))
                value.encode(into: &buffer, sortedKeys: sortedKeys)
            }
            buffer.append(UInt8(ascii: "}"))
        }
    }

    /// The compact JSON text as UTF-8 bytes.
    public func encodedBytes() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64)
        encode(into: &buffer)
        return buffer
    }

    /// The compact JSON text.
    public func encodedString() -> String {
        String(decoding: encodedBytes(), as: UTF8.self)
    }

    /// Indented JSON text with sorted keys, for files people read.
    public func prettyString(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        let closePad = String(repeating: "  ", count: indent)
        switch self {
        case .array(let elements) where !elements.isEmpty:
            let inner = elements.map { pad + $0.prettyString(indent: indent + 1) }
            return "[\n" + inner.joined(separator: ",\n") + "\n" + closePad + "]"
        case .object(let members) where !members.isEmpty:
            let inner = members.sorted { $0.key < $1.key }.map { key, value in
                pad + JSON.string(key).encodedString() + ": " + value.prettyString(indent: indent + 1)
            }
            return "{\n" + inner.joined(separator: ",\n") + "\n" + closePad + "}"
        default:
            return encodedString()
        }
    }

    static func encodeNumber(_ value: Double, into buffer: inout [UInt8]) {
        if !value.isFinite {
            buffer.append(contentsOf: "null".utf8)
        } else if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            buffer.append(contentsOf: String(Int64(value)).utf8)
        } else {
            buffer.append(contentsOf: value.description.utf8)
        }
    }

    static func encodeString(_ value: String, into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let c = utf8[i]
                guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
                if runStart < i { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i + 1
                switch c {
                case 0x22: buffer.append(contentsOf: [0x5C, 0x22])
                case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: buffer.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: buffer.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: buffer.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    buffer.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
                }
            }
            if runStart < utf8.count { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        buffer.append(UInt8(ascii: "\""))
    }
}
