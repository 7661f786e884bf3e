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
            let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? file.close() }
            let size = Int(try file.seekToEnd())
            try blobs.put(id, size: size) { offset, length in
                try file.seek(toOffset: UInt64(offset))
                return [UInt8](try file.read(upToCount: length) ?? Data())
            }
        }
    }

    public func fetchBlob(_ id: String, to path: String) async throws -> Bool {
        try await run { [blobs] in
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? file.close() }
            guard try blobs.get(id, write: { try file.write(contentsOf: $0) }) else {
                try? FileManager.default.removeItem(atPath: path)
                return false
            }
            try file.synchronize()
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
