import Foundation

/// A file's record, kept next to its encrypted bytes: what it is, who uploaded it, where it was
/// shared and how its key is wrapped.
public struct StoredFile: Codable, Sendable, Equatable {
    public let file: String
    public let tenant: String
    public let uploader: String
    public let name: String
    public let size: Int64
    public let contentType: String
    /// SHA-256 of the plaintext, hex.
    public let sha256: String
    public let createdAt: Millis
    /// The file key sealed by the data key `keyID`.
    let wrappedKey: Data
    let keyID: String
    /// Rooms where a message carried it, in the order it was shared.
    public internal(set) var rooms: [String]
    /// When retention erased its bytes (the record stays); nil while it is kept.
    public internal(set) var erasedAt: Millis? = nil

    enum CodingKeys: String, CodingKey {
        case file, tenant, uploader, name, size, rooms, sha256
        case contentType = "content_type", createdAt = "created_at", wrappedKey = "wrapped_key", keyID = "key_id"
        case erasedAt = "erased_at"
    }
}

/// An attachment as `msg` events carry it: `{file, name, size, content_type, sha256}`.
public struct Attachment: Codable, Sendable, Equatable, JSONWritable {
    public let file: String
    public let name: String
    public let size: Int64
    public let contentType: String
    public let sha256: String

    enum CodingKeys: String, CodingKey {
        case file, name, size, sha256
        case contentType = "content_type"
    }

    init(_ stored: StoredFile) {
        file = stored.file
        name = stored.name
        size = stored.size
        contentType = stored.contentType
        sha256 = stored.sha256
    }

    public func writeFields(to writer: inout JSONWriter) {
        writer.field("file", file)
        writer.field("name", name)
        writer.field("size", size)
        writer.field("content_type", contentType)
        writer.field("sha256", sha256)
    }
}
