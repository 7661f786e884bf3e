import Foundation

/// The machine-readable protocol, shipped as package resources (`Protocol/`, the files of
/// docs/schema and docs/asyncapi.yaml) and served as `GET /v1/schema` and `GET /v1/asyncapi.yaml`.
struct ProtocolDocuments: Sendable {
    /// One JSON object: each schema's path below docs/schema (`requests/msg.send.json`) → the schema.
    let schema: [UInt8]
    /// The AsyncAPI document, as written.
    let asyncAPI: [UInt8]

    init() {
        let root = Bundle.module.url(forResource: "Protocol", withExtension: nil)
        schema = root.map { Self.schemaBundle(at: $0.appendingPathComponent("schema")) } ?? Array("{}".utf8)
        asyncAPI = root.flatMap { FileManager.default.contents(atPath: $0.appendingPathComponent("asyncapi.yaml").path) }
            .map(Array.init) ?? []
    }

    private static func schemaBundle(at directory: URL) -> [UInt8] {
        var documents: [String: Any] = [:]
        let base = directory.standardizedFileURL.path
        if let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker where url.pathExtension == "json" {
                guard let data = FileManager.default.contents(atPath: url.path),
                      let document = try? JSONSerialization.jsonObject(with: data) else { continue }
                documents[String(url.standardizedFileURL.path.dropFirst(base.count + 1))] = document
            }
        }
        let data = try? JSONSerialization.data(withJSONObject: documents, options: [.sortedKeys, .withoutEscapingSlashes])
        return Array(data ?? Data("{}".utf8))
    }
}
