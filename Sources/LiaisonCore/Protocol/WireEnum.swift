/// A string enum read from the wire; an unknown value is reported with the values allowed.
public protocol WireEnum: RawRepresentable<String>, CaseIterable, Decodable {}

extension WireEnum {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            let allowed = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "must be one of \(allowed), not '\(raw)'")
        }
        self = value
    }
}
