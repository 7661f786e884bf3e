/// Writes JSON objects straight into bytes: the encoder of the hot frames (`ok`, `msg`, `presence`,
/// `mod.*`, `call.*`) and of audit records, where Foundation's `JSONEncoder` cost more CPU than the
/// kernel's TCP path. Keys are static (they never need escaping); string values are escaped as
/// RFC 8259 requires (`"`, `\` and control characters), everything else is written as it is, `/` included.
public struct JSONWriter {
    public private(set) var bytes: [UInt8]
    /// Whether the next field is the first of the object being written (no comma before it).
    private var atFirstField = true

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: Objects

    /// `{`, the fields `body` writes, `}`.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        atFirstField = true
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        atFirstField = false
    }

    /// `"key":{…}`.
    public mutating func object(_ key: StaticString, _ body: (inout JSONWriter) -> Void) {
        self.key(key)
        object(body)
    }

    /// The fields of `value`, into the object being written.
    public mutating func fields(of value: some JSONWritable) {
        value.writeFields(to: &self)
    }

    // MARK: Fields

    public mutating func field(_ key: StaticString, _ value: String) {
        self.key(key)
        string(value)
    }

    /// A string enum's raw value.
    public mutating func field(_ key: StaticString, _ value: some RawRepresentable<String>) {
        field(key, value.rawValue)
    }

    public mutating func field(_ key: StaticString, _ value: UInt64) {
        self.key(key)
        unsigned(value)
    }

    public mutating func field(_ key: StaticString, _ value: Int64) {
        self.key(key)
        signed(value)
    }

    public mutating func field(_ key: StaticString, _ value: Int) {
        field(key, Int64(value))
    }

    public mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: value ? Self.trueBytes : Self.falseBytes)
    }

    /// The value, or `null`.
    public mutating func field(_ key: StaticString, orNull value: String?) {
        self.key(key)
        if let value { string(value) } else { bytes.append(contentsOf: Self.nullBytes) }
    }

    /// The value, or `null`.
    public mutating func field(_ key: StaticString, orNull value: Int64?) {
        if let value {
            field(key, value)
        } else {
            self.key(key)
            bytes.append(contentsOf: Self.nullBytes)
        }
    }

    /// The field only when there is a value.
    public mutating func field(_ key: StaticString, ifPresent value: String?) {
        if let value { field(key, value) }
    }

    public mutating func field(_ key: StaticString, _ values: [String]) {
        self.key(key)
        array(values)
    }

    /// An array of objects.
    public mutating func field(_ key: StaticString, objects values: [some JSONWritable]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            object { $0.fields(of: value) }
        }
        bytes.append(UInt8(ascii: "]"))
        atFirstField = false
    }

    /// An object of string values, its keys in sorted order (a stable encoding, as for hashing).
    public mutating func field(_ key: StaticString, sorted dictionary: [String: String]) {
        self.key(key)
        bytes.append(UInt8(ascii: "{"))
        for (index, name) in dictionary.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(name)
            bytes.append(UInt8(ascii: ":"))
            string(dictionary[name]!)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// A field whose name is only known at run time (escaped like any string).
    public mutating func field(named key: String, _ value: String) {
        self.key(named: key)
        string(value)
    }

    /// A number field whose name is only known at run time.
    public mutating func field(named key: String, number value: Int64) {
        self.key(named: key)
        signed(value)
    }

    /// A string array field whose name is only known at run time.
    public mutating func field(named key: String, _ values: [String]) {
        self.key(named: key)
        array(values)
    }

    /// A value already encoded as JSON, copied as it is.
    public mutating func field(_ key: StaticString, json: some Sequence<UInt8>) {
        self.key(key)
        bytes.append(contentsOf: json)
    }

    // MARK: Pieces

    private mutating func key(_ key: StaticString) {
        if atFirstField { atFirstField = false } else { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func key(named key: String) {
        if atFirstField { atFirstField = false } else { bytes.append(UInt8(ascii: ",")) }
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func array(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private mutating func signed(_ value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            unsigned(value.magnitude)
        } else {
            unsigned(UInt64(value))
        }
    }

    /// A JSON string: copied in one go when nothing in it needs escaping (the usual case).
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            if !utf8.contains(where: Self.needsEscape) {
                bytes.append(contentsOf: utf8)
            } else {
                for byte in utf8 { escaped(byte) }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private mutating func escaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        case ..<0x20:
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            bytes.append(Self.hexDigits[Int(byte >> 4)])
            bytes.append(Self.hexDigits[Int(byte & 0xF)])
        default:
            bytes.append(byte)
        }
    }

    private mutating func unsigned(_ value: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = digits.count
            var rest = value
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)
}

/// A value written as the fields of a JSON object (a frame's own fields, or a reply's result).
public protocol JSONWritable {
    func writeFields(to writer: inout JSONWriter)
}
