/// A JSON value: what every Liaison frame is made of.
///
/// Build frames with literals and read them with the typed accessors:
///
/// ```swift
/// let frame: JSON = ["type": "presence.set", "id": "7", "status": "online"]
/// frame["status"]?.string   // "online"
/// ```
///
/// Numbers are kept as `Double` (every timestamp and sequence number of the
/// protocol fits exactly); ``int`` reads them back as integers.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}

// MARK: - Reading

extension JSON {
    /// The member `key` of an object, or `nil` (also when this is not an object).
    @inlinable
    public subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array, or `nil` when out of range or not an array.
    @inlinable
    public subscript(index: Int) -> JSON? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    /// The string, if this is a string.
    @inlinable
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number as an `Int`, if this is a number with no fractional part.
    @inlinable
    public var int: Int? {
        if case .number(let value) = self, let exact = Int(exactly: value) { return exact }
        return nil
    }

    /// The number, if this is a number.
    @inlinable
    public var double: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The boolean, if this is `true` or `false`.
    @inlinable
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    @inlinable
    public var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this is an object.
    @inlinable
    public var object: [String: JSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// `true` for `null`.
    @inlinable
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

// MARK: - Building

extension JSON {
    /// A number from an integer.
    @inlinable
    public static func int(_ value: Int) -> JSON { .number(Double(value)) }

    /// This object with `value` set for `key` (a non-object becomes an object of one member).
    public func setting(_ key: String, _ value: JSON) -> JSON {
        var members = object ?? [:]
        members[key] = value
        return .object(members)
    }
}

extension JSON: ExpressibleByNilLiteral {
    @inlinable public init(nilLiteral: ()) { self = .null }
}

extension JSON: ExpressibleByBooleanLiteral {
    @inlinable public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSON: ExpressibleByIntegerLiteral {
    @inlinable public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension JSON: ExpressibleByFloatLiteral {
    @inlinable public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSON: ExpressibleByStringLiteral {
    @inlinable public init(stringLiteral value: String) { self = .string(value) }
}

extension JSON: ExpressibleByArrayLiteral {
    @inlinable public init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

extension JSON: ExpressibleByDictionaryLiteral {
    @inlinable
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSON: CustomStringConvertible {
    /// The compact JSON text.
    public var description: String { encodedString() }
}
