/// Limits and keys of file sharing.
public struct FilesConfiguration: Sendable {
    /// Largest upload (`Content-Length`); larger ones get 413 before their body is read.
    public var maxFileBytes: Int64 = 25 * 1024 * 1024
    /// Content types that may be uploaded; `type/*` allows a whole family.
    public var allowedTypes: [String] = FilesConfiguration.defaultTypes
    /// Seconds an upload may go without a byte of its body before it is dropped.
    public var bodyTimeout: Double = 30
    /// The keys that wrap file keys; nil: `data.key` in the data directory, created when absent.
    public var dataKeys: DataKeys?

    /// Images, PDF, plain text and CSV, Office and OpenDocument documents.
    public static let defaultTypes = [
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/heif",
        "application/pdf", "text/plain", "text/csv",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.*", "application/vnd.oasis.opendocument.*",
    ]

    public init() {}

    /// The bare, lower-cased type of a `Content-Type` value when it is allowed.
    public func allowed(_ contentType: String) -> String? {
        let bare = contentType.split(separator: ";", maxSplits: 1).first.map(String.init)?
            .trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        guard !bare.isEmpty else { return nil }
        let ok = allowedTypes.contains { pattern in
            pattern.hasSuffix("*") ? bare.hasPrefix(pattern.dropLast()) : bare == pattern
        }
        return ok ? bare : nil
    }
}
