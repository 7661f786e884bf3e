import Foundation

/// Encodes replies and events once into shareable frames: the hot ones (`JSONWritable`) with
/// `JSONWriter`, the rest with `JSONEncoder`.
public enum FrameEncoder {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// `{"type":"ok","id":…, …result fields}`.
    public static func ok(id: String, _ result: some Encodable) -> OutboundFrame {
        encode(Reply(type: "ok", id: id, result: result))
    }

    /// `{"type":"ok","id":…, …result fields}`, written directly.
    public static func ok(id: String, written result: some JSONWritable) -> OutboundFrame {
        var writer = JSONWriter()
        writer.object { writer in
            writer.field("type", "ok")
            writer.field("id", id)
            writer.fields(of: result)
        }
        return OutboundFrame(payload: writer.bytes)
    }

    /// `{"type":"ok","id":…}`.
    public static func ok(id: String) -> OutboundFrame {
        var writer = JSONWriter(capacity: 32 + id.utf8.count)
        writer.object { writer in
            writer.field("type", "ok")
            writer.field("id", id)
        }
        return OutboundFrame(payload: writer.bytes)
    }

    /// `{"type":"ok","id":…,"KEY":[…frames…]}`: a list of already-encoded objects spliced in as they are.
    public static func ok(id: String, splicing key: String, _ items: [OutboundFrame]) -> OutboundFrame {
        var bytes = Array(ok(id: id).payload)
        bytes.removeLast()  // the closing brace
        bytes += Array(",\"\(key)\":[".utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += UnsafeRawBufferPointer(start: item.payloadStart, count: item.count)
        }
        bytes += Array("]}".utf8)
        return OutboundFrame(payload: bytes)
    }

    private static let errorFields: Set<String> = ["type", "id", "code", "message"]

    /// `{"type":"error","id":…,"code":…,"message":…}`; without an id when the request had none. Details
    /// (extra fields such as `retry_after`) never replace those four.
    public static func error(id: String?, _ error: ProtocolError) -> OutboundFrame {
        var writer = JSONWriter()
        writer.object { writer in
            writer.field("type", "error")
            writer.field("id", ifPresent: id)
            writer.field("code", error.code)
            writer.field("message", error.message)
            for (key, value) in error.details.sorted(by: { $0.key < $1.key })
            where !errorFields.contains(key) {
                writer.field(named: key, value)
            }
        }
        return OutboundFrame(payload: writer.bytes)
    }

    /// A server event: a value whose encoding carries its own `type`.
    public static func event(_ event: some Encodable) -> OutboundFrame {
        encode(event)
    }

    /// A server event written directly: its fields carry its own `type`.
    public static func event(_ event: some JSONWritable) -> OutboundFrame {
        var writer = JSONWriter()
        writer.object { $0.fields(of: event) }
        return OutboundFrame(payload: writer.bytes)
    }

    static func encode(_ value: some Encodable) -> OutboundFrame {
        do {
            return OutboundFrame(payload: try encoder.encode(value))
        } catch {
            preconditionFailure("a server frame failed to encode: \(error)")
        }
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
}
