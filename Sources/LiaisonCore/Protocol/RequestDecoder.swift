import Foundation

/// Turns a text frame into a `Request`, or into the `bad_request` error that answers it.
public enum RequestDecoder {
    /// A frame's outcome: a request with its id, or an error to send back (with the id when known).
    public enum Outcome: Sendable {
        case request(id: String, type: String, Request)
        case invalid(id: String?, ProtocolError)
    }

    /// The longest `id` a client may pick.
    public static let maxIDLength = 64

    /// One decoder for every frame (decoding keeps no state between calls).
    private static let decoder = JSONDecoder()

    /// The raw frame, decodable as any request's parameter struct.
    public struct Fields {
        let data: Data
        func decode<T: Decodable>() throws -> T { try RequestDecoder.decoder.decode(T.self, from: data) }
    }

    public static func decode(_ data: Data) -> Outcome {
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            return .invalid(id: nil, ProtocolError(.badRequest, "malformed JSON: a frame must be one JSON object"))
        }
        guard let id = header.id else {
            return .invalid(id: nil, ProtocolError(.badRequest, "missing field 'id' (a string of at most \(maxIDLength) characters)"))
        }
        guard let type = header.type else {
            return .invalid(id: id, ProtocolError(.badRequest, "missing field 'type'"))
        }
        guard let decoder = Request.decoders[type] else {
            return .invalid(id: id, ProtocolError(.badRequest, "unknown type '\(type)'"))
        }
        do {
            return .request(id: id, type: type, try decoder(Fields(data: data)))
        } catch let error as DecodingError {
            return .invalid(id: id, ProtocolError(.badRequest, describe(error)))
        } catch {
            return .invalid(id: id, ProtocolError(.badRequest, "invalid request: \(error)"))
        }
    }

    /// `type` and `id`, read leniently so that a malformed request still gets its id back.
    struct Header: Decodable {
        let type: String?
        let id: String?

        enum CodingKeys: String, CodingKey { case type, id }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try? container.decodeIfPresent(String.self, forKey: .type)
            let id = try? container.decodeIfPresent(String.self, forKey: .id)
            self.id = id.flatMap { $0.isEmpty || $0.count > RequestDecoder.maxIDLength ? nil : $0 }
        }
    }

    /// A message naming the field and what is wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ last: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (last.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context, key))'"
        case .typeMismatch(let type, let context):
            return "field '\(path(context))' must be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "field '\(path(context))' must be \(describe(type)), not null"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "malformed JSON" }
            return context.debugDescription.hasPrefix("must be")
                ? "field '\(path(context))' \(context.debugDescription)"
                : "field '\(path(context))' has an invalid value"
        @unknown default:
            return "invalid request"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is UInt64.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is [String].Type, is [Any].Type: "an array"
        default: "of type \(type)"
        }
    }
}
