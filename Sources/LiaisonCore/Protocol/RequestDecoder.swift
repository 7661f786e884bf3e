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

    /// The frame being decoded, decodable as any request's parameter struct.
    public struct Fields {
        let decoder: any Decoder
        func decode<T: Decodable>() throws -> T { try T(from: decoder) }
    }

    /// Parses the frame once: the header and the request's fields come from the same decoder.
    public static func decode(_ data: Data) -> Outcome {
        do {
            return try decoder.decode(Envelope.self, from: data).outcome
        } catch {
            return .invalid(id: nil, ProtocolError(.badRequest, "malformed JSON: a frame must be one JSON object"))
        }
    }

    /// A whole frame: `type` and `id` read leniently (so that a malformed request still gets its id
    /// back), then the fields of the request `type` names.
    struct Envelope: Decodable {
        let outcome: Outcome

        enum CodingKeys: String, CodingKey { case type, id }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let type = try? container.decodeIfPresent(String.self, forKey: .type)
            let id = (try? container.decodeIfPresent(String.self, forKey: .id))
                .flatMap { $0.isEmpty || $0.count > RequestDecoder.maxIDLength ? nil : $0 }
            guard let id else {
                outcome = .invalid(id: nil, ProtocolError(
                    .badRequest, "missing field 'id' (a string of at most \(maxIDLength) characters)"))
                return
            }
            guard let type else {
                outcome = .invalid(id: id, ProtocolError(.badRequest, "missing field 'type'"))
                return
            }
            guard let request = Request.decoders[type] else {
                outcome = .invalid(id: id, ProtocolError(.badRequest, "unknown type '\(type)'"))
                return
            }
            do {
                outcome = .request(id: id, type: type, try request(Fields(decoder: decoder)))
            } catch let error as DecodingError {
                outcome = .invalid(id: id, ProtocolError(.badRequest, describe(error)))
            } catch {
                outcome = .invalid(id: id, ProtocolError(.badRequest, "invalid request: \(error)"))
            }
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
