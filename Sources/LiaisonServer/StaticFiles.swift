import Foundation

/// The browser console's files, shipped as package resources and read once at start-up.
struct StaticFiles: Sendable {
    struct File: Sendable {
        let contentType: String
        let body: [UInt8]
    }

    private let files: [String: File]

    /// Loads every file of the `Console` resource folder, by its path below it (`/app.js`).
    init() {
        var files: [String: File] = [:]
        if let root = Bundle.module.url(forResource: "Console", withExtension: nil),
           let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                guard let data = FileManager.default.contents(atPath: url.path) else { continue }
                let path = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count))
                files[path] = File(contentType: Self.contentType(of: url.pathExtension), body: Array(data))
            }
        }
        self.files = files
    }

    /// The file for a request path; `/` is `index.html`.
    func file(for path: String) -> File? {
        files[path == "/" ? "/index.html" : path]
    }

    private static func contentType(of pathExtension: String) -> String {
        switch pathExtension {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "json": "application/json"
        default: "application/octet-stream"
        }
    }
}
