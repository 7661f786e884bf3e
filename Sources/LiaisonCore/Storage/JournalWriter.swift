import Foundation

/// Where accepted changes are made durable before they are acknowledged: the local `Journal`, or in
/// cluster mode a log in JetStream. Completions run in append order, each once its record (and every
/// earlier one) is durable.
public protocol JournalWriter: AnyObject, Sendable {
    /// Queues `payload`; `completion` runs once it is durable.
    func append(_ payload: Journal.Payload, kind: JournalRecordKind, completion: (@Sendable () -> Void)?)

    /// Runs `completion` once everything appended before it is durable.
    func afterPendingWrites(_ completion: @escaping @Sendable () -> Void)

    /// Marks a point the next snapshot covers everything before; returns its number for `removeSegments`.
    func rotate() async -> UInt64

    /// Drops what the snapshots cover, up to the point `rotate` returned (a log that keeps everything
    /// does nothing).
    func removeSegments(before segment: UInt64) throws

    /// Makes everything queued durable, then stops.
    func close()

    /// Whether a record appended now can be made durable soon (false while a cluster's bus is out of reach).
    var isAvailable: Bool { get }
}

/// What a journal record is to the hub's snapshots.
public enum JournalRecordKind: Sendable {
    /// A change to rooms, MOD requests or meetings: the snapshot after it covers it.
    case snapshotted
    /// A change to the people directory, pushers or files, which keep their own files (in a cluster, a copy
    /// per node): a journal that drops what snapshots cover keeps these.
    case kept
}

extension JournalWriter {
    public var isAvailable: Bool { true }

    /// Queues a record the next snapshot covers; `completion` runs once it is durable.
    public func append(_ payload: Journal.Payload, completion: (@Sendable () -> Void)?) {
        append(payload, kind: .snapshotted, completion: completion)
    }

    public func append(_ payload: Journal.Payload) {
        append(payload, kind: .snapshotted, completion: nil)
    }
}

extension Journal.Payload: ContiguousBytes {
    /// The record's bytes as they are stored (without the local journal's framing), in place: a frame's
    /// are the very bytes sent to clients.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .frame(let frame): try body(UnsafeRawBufferPointer(start: frame.payloadStart, count: frame.count))
        case .bytes(let bytes): try bytes.withUnsafeBytes(body)
        }
    }
}

/// A journal kept outside the data directory (cluster mode): its writer and every record it already holds,
/// oldest first, which the hub replays at start-up instead of the local journal's.
public struct ExternalJournal: Sendable {
    public let writer: any JournalWriter
    public let records: [Data]

    public init(writer: any JournalWriter, records: [Data]) {
        self.writer = writer
        self.records = records
    }
}
