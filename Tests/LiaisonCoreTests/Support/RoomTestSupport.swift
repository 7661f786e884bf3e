import Dispatch
import Foundation
import Synchronization
@testable import LiaisonCore

/// A `msg` event as the room actor encodes it, wrapped as the room stores it.
func storedMessage(_ seq: UInt64, room: String = "r1", from: String = "alice", clientMsgID: String? = nil,
                   body: String? = nil) -> StoredMessage {
    let ts = Millis(1_700_000_000_000) + Millis(seq)
    let event = MessageEvent(room: room, seq: seq, from: from, fromName: nil, body: body ?? "message \(seq) in \(room)", ts: ts,
                             clientMsgID: clientMsgID, kind: .text)
    return StoredMessage(seq: seq, from: from, clientMsgID: clientMsgID, ts: ts, frame: FrameEncoder.event(event))
}

/// Messages `range` from alice, each with client_msg_id "c<seq>".
func storedMessages(_ range: ClosedRange<UInt64>, room: String = "r1", body: String = "message") -> [StoredMessage] {
    range.map { storedMessage($0, room: room, clientMsgID: "c\($0)", body: "\(body) \($0)") }
}

/// Values appended from any thread, read back in append order.
final class CompletionLog<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) { values.withLock { $0.append(value) } }

    var all: [Value] { values.withLock { $0 } }
}

/// A one-shot signal waited for with a bound (a hang fails the test instead of stalling the run).
final class CompletionSignal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    func fire() { semaphore.signal() }

    /// Whether the signal fired within `seconds` (a generous bound, not a timing assertion).
    func wait(seconds: Double = 10) -> Bool {
        semaphore.wait(timeout: .now() + seconds) == .success
    }
}

/// `withTemporaryDirectory` for an async body.
@discardableResult
func withTemporaryDirectoryAsync<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("liaison-core-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}
