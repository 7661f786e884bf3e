/// Where file bytes are kept besides this node's disk (cluster mode: JetStream), so that a node that takes
/// over can serve files another node stored. Each call returns once done (durable, for `storeBlob`).
public protocol FileReplica: Sendable {
    /// Keeps a copy of the sealed bytes at `path` as file `id`.
    func storeBlob(_ id: String, from path: String) async throws
    /// Writes the copy of file `id`'s bytes to `path`; false if there is none.
    func fetchBlob(_ id: String, to path: String) async throws -> Bool
    /// Drops the copy of file `id`'s bytes (retention erased them).
    func eraseBlob(_ id: String) async throws
}
