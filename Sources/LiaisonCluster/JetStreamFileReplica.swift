import Foundation
import LiaisonCore

/// Files' sealed bytes kept in JetStream (`JetStreamBlobs`, stream `LIAISON_FILES`): stored before an
/// upload is answered, fetched by a node that does not have them. The calls block, so they run on a queue
/// of their own, never on the cooperative pool.
public final class JetStreamFileReplica: FileReplica {
    private let blobs: JetStreamBlobs
    private let queue = DispatchQueue(label: "liaison.cluster.files")

    public init(blobs: JetStreamBlobs) {
        self.blobs = blobs
    }

    public func storeBlob(_ id: String, from path: String) async throws {
        try await run { [blobs] in
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            try blobs.put(id, bytes)
        }
    }

    public func fetchBlob(_ id: String, to path: String) async throws -> Bool {
        try await run { [blobs] in
            guard let bytes = try blobs.get(id) else { return false }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return true
        }
    }

    public func eraseBlob(_ id: String) async throws {
        try await run { [blobs] in try blobs.remove(id) }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
