import Crypto
import Foundation

/// The line format of the audit file: `{…record…,"hash":"HEX"}`, where HEX is the SHA-256 of the line's
/// bytes before `,"hash":"`, and each record names the previous record's hash in `prev`.
enum AuditChain {
    static let hashMarker = Array(#","hash":""#.utf8)
    private static let lineEnd = Array("\"}\n".utf8)

    /// The full line (with newline) for `record`, and its hash. The record's keys are in sorted order,
    /// as `JSONEncoder` with `.sortedKeys` writes them (older files were written that way).
    static func line(for record: AuditRecord) -> (line: [UInt8], hash: String) {
        var writer = JSONWriter(capacity: 384)
        writer.object { record.writeFields(to: &$0) }
        var body = writer.bytes
        body.removeLast()  // the closing brace: the hash goes inside the object
        let hash = hex(SHA256.hash(data: body))
        body += hashMarker
        body.append(contentsOf: hash.utf8)
        body.append(contentsOf: Self.lineEnd)
        return (body, hash)
    }

    /// Splits a line (without newline) into the hashed prefix, the stated hash and the decoded record.
    static func parse(_ line: some Collection<UInt8>, decoder: JSONDecoder) -> (record: AuditRecord, stated: String, actual: String)? {
        let bytes = Array(line)
        guard let marker = lastRange(of: hashMarker, in: bytes) else { return nil }
        let prefix = bytes[..<marker.lowerBound]
        let tail = bytes[marker.upperBound...]
        guard tail.count == 64 + 2, tail.suffix(2).elementsEqual("\"}".utf8) else { return nil }
        let stated = String(decoding: tail.prefix(64), as: UTF8.self)
        let object = prefix + [UInt8(ascii: "}")]
        guard let record = FlatJSON.object(object).flatMap(AuditRecord.init(fields:))
            ?? (try? decoder.decode(AuditRecord.self, from: Data(object)))
        else { return nil }
        return (record, stated, hex(SHA256.hash(data: prefix)))
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String { Hex.encode(digest) }

    private static func lastRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        var start = haystack.count - needle.count
        while start >= 0 {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) {
                return start..<(start + needle.count)
            }
            start -= 1
        }
        return nil
    }
}
