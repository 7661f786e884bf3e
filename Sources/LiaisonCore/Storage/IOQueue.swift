import Dispatch
import Foundation

/// A serial queue for blocking file work (writes, fsyncs, large reads): tasks await it instead of
/// blocking one of the cooperative pool's few threads (two on a 2-core machine) on the disk.
public final class IOQueue: Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `work` on the queue, after everything submitted before it, and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Encodes `value` as JSON and puts it in place of `path` (temp file, sync, rename) on the queue.
    func replace(_ path: String, withJSONOf value: some Encodable, fileSystem: any FileSystem) async throws {
        let bytes = Array(try JSONEncoder().encode(value))
        try await run { try fileSystem.replace(path, with: bytes) }
    }
}
