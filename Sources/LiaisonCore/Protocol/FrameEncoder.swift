import Foundation

/// Encodes replies and events once into shareable frames.
public enum FrameEncoder {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// `{"type":"ok","id":…, …result fields}`.
    public static func ok(id: String, _ result: some Encodable = Empty()) -> OutboundFrame {
        encode(Reply(type: "ok", id: id, result: result))
    }

    /// `{"type":"error","id":…,"code":…,"message":…}`; without an id when the request had none.
    public static func error(id: String?, _ error: ProtocolError) -> OutboundFrame {
        encode(ErrorReply(id: id, code: error.code, message: error.message))
    }

    /// A server event: a value whose encoding carries its own `type`.
    public static func event(_ event: some Encodable) -> OutboundFrame {
        encode(event)
    }

    static func encode(_ value: some Encodable) -> OutboundFrame {
        do {
            return OutboundFrame(payload: try encoder.encode(value))
        } catch {
            preconditionFailure("a server frame failed to encode: \(error)")
        }
    }

    /// No result fields.
    public struct Empty: Encodable, Sendable {
        public init() {}
    }

    private struct Reply<Result: Encodable>: Encodable {
        let type: String
        let id: String
        let result: Result

        enum CodingKeys: String, CodingKey { case type, id }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(id, forKey: .id)
            try result.encode(to: encoder)
        }
    }

    private struct ErrorReply: Encodable {
        var type = "error"
        let id: String?
        let code: ErrorCode
        let message: String
    }
}
