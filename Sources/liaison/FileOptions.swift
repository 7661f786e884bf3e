import ArgumentParser
import Foundation
import LiaisonCore

/// `serve`'s flags for file sharing: limits, allowed types and the data keys files are encrypted under.
struct FileOptions: ParsableArguments {
    @Option(help: "Largest upload in bytes (LIAISON_MAX_FILE_BYTES; default 26214400 = 25 MiB).") var maxFileBytes: Int64?
    @Option(help: "Content types that may be uploaded, comma-separated, type/* for a family (LIAISON_FILE_TYPES; default images, PDF, text, Office and OpenDocument).") var fileTypes: String?
    @Option(help: "Seconds an upload may go without receiving a byte (LIAISON_FILE_TIMEOUT; default 30).") var fileTimeout: Double?
    @Option(help: "The key that wraps file keys, 32 bytes raw or base64 (LIAISON_DATA_KEY_FILE; default DATA_DIR/data.key, created 0600 when absent).") var dataKeyFile: String?
    @Option(help: "An earlier data key still needed to read files stored before a rotation; repeatable (LIAISON_DATA_KEY_PREVIOUS, comma-separated).")
    var dataKeyPrevious: [String] = []

    /// Applies these flags (or their LIAISON_ variables) to `files`; `dataDirectory` holds the default key.
    func apply(to files: inout FilesConfiguration, dataDirectory: URL) throws {
        files.maxFileBytes = try Environment.resolve(maxFileBytes, "max-file-bytes", 25 * 1024 * 1024) { Int64($0) }
        files.bodyTimeout = try Environment.resolve(fileTimeout, "file-timeout", 30) { Double($0) }
        guard files.maxFileBytes > 0, files.bodyTimeout > 0 else {
            throw ValidationError("--max-file-bytes and --file-timeout must be positive")
        }
        if let types = try Environment.resolve(fileTypes, "file-types", nil, parse: { $0 }) {
            files.allowedTypes = types.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                .filter { !$0.isEmpty }
            guard !files.allowedTypes.isEmpty, files.allowedTypes.allSatisfy({ $0.contains("/") }) else {
                throw ValidationError("--file-types must list content types such as image/png,application/pdf")
            }
        }
        let keyPath = try Environment.resolve(dataKeyFile, "data-key-file", nil, parse: { $0 })
        let previousPaths = dataKeyPrevious.isEmpty
            ? (Environment.value(for: "data-key-previous") ?? "").split(separator: ",").map(String.init) : dataKeyPrevious
        do {
            let current = try DataKeys.load(path: keyPath ?? dataDirectory.appendingPathComponent("data.key").path,
                                            create: keyPath == nil)
            let previous = try previousPaths.filter { !$0.isEmpty }.map { try DataKeys.load(path: $0, create: false) }
            files.dataKeys = DataKeys(current: current, previous: previous)
        } catch let error as DataKeyError {
            throw ValidationError(error.description)
        }
    }
}
