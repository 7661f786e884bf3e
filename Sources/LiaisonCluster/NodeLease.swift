import Foundation
import Logging
import LiaisonSync
import Synchronization

/// The cluster's lease on being the active node, kept in a key-value bucket: a thin shell that carries out
/// `LeaseRules` on a thread of its own (libnats calls block).
public final class NodeLease: Sendable {
    /// The bucket key the lease is kept under; its value is the holder's node name.
    public static let key = "active"

    public let node: String
    public let rules: LeaseRules
    private let bucket: KeyValueBucket
    private let logger = Logger(label: "liaison.cluster")
    private let stopped = Atomic<Bool>(false)
    private let seenHolder = Locked<String?>(nil)

    public init(bucket: KeyValueBucket, node: String, rules: LeaseRules) {
        self.bucket = bucket
        self.node = node
        self.rules = rules
    }

    /// Publishes where clients reach this node (`url.NODE`), for the nodes that redirect to it while it is active.
    public func publish(url: String) throws {
        try bucket.put("url.\(node)", Array(url.utf8))
    }

    /// Where clients reach `node`, as it published it (nil: unknown, or the bus cannot be asked).
    public func url(of node: String) -> String? {
        (try? bucket.get("url.\(node)")).flatMap { $0.map { String(decoding: $0.value, as: UTF8.self) } }
    }

    /// Where clients reach each node that published it, by node name.
    public func nodeURLs() -> [String: String] {
        guard let keys = try? bucket.keys() else { return [:] }
        var urls: [String: String] = [:]
        for key in keys where key.hasPrefix("url.") {
            let node = String(key.dropFirst(4))
            urls[node] = url(of: node)
        }
        return urls
    }

    /// The node holding the lease now, if any (nil also when the bus cannot be asked).
    public func holder() -> String? {
        (try? bucket.get(Self.key)).flatMap { $0.map { String(decoding: $0.value, as: UTF8.self) } }
    }

    /// Stops waiting for the lease and renewing it (the process is going away).
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// The node holding the lease as last seen by `acquire` (nil: none, or not looked yet).
    public var lastSeenHolder: String? { seenHolder.withLock { $0 } }

    /// Waits until this node holds the lease; returns the revision it holds it at, or nil once stopped.
    /// `holderChanged` runs (on the lease thread) whenever another node is seen to hold it after a different
    /// one, or none, held it.
    public func acquire(holderChanged: @escaping @Sendable (String) -> Void = { _ in }) async -> UInt64? {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in continuation.resume(returning: waitForLease(holderChanged: holderChanged)) }
            thread.name = "cluster-lease"
            thread.start()
        }
    }

    private func waitForLease(holderChanged: @Sendable (String) -> Void) -> UInt64? {
        let value = Array(node.utf8)
        var watch = LeaseRules.Watch()
        while !stopped.load(ordering: .relaxed) {
            do {
                let entry = try bucket.get(Self.key)
                let holder = entry.map { String(decoding: $0.value, as: UTF8.self) }
                // Told before it shows as the holder: who sees the new holder sees what the change did.
                if let holder, holder != seenHolder.withLock({ $0 }) { holderChanged(holder) }
                seenHolder.withLock { $0 = holder }
                switch rules.move(seeing: entry?.revision, at: .now, watch: &watch) {
                case .create:
                    if let revision = try bucket.create(Self.key, value) {
                        seenHolder.withLock { $0 = node }
                        return revision
                    }
                case .takeOver(let revision):
                    let previous = entry.map { String(decoding: $0.value, as: UTF8.self) } ?? "?"
                    if let revision = try bucket.update(Self.key, value, revision: revision) {
                        logger.notice("node \(node) takes the lease over from \(previous), silent for \(rules.duration)")
                        seenHolder.withLock { $0 = node }
                        return revision
                    }
                case .wait:
                    break
                }
            } catch {
                logger.warning("cannot read the cluster lease: \(error)")
            }
            Thread.sleep(forTimeInterval: rules.lookInterval.seconds)
        }
        return nil
    }

    /// Renews the lease held at `revision` until another node writes over it; then `lost` runs once, on the
    /// lease thread. While the bus is out of reach it keeps trying (the journal's fence guards the writes).
    public func keep(from revision: UInt64, lost: @escaping @Sendable (String) -> Void) {
        let thread = Thread { [self] in
            let value = Array(node.utf8)
            var revision = revision
            var failing = false
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: rules.renewInterval.seconds)
                do {
                    var next = try bucket.update(Self.key, value, revision: revision)
                    if next == nil, let current = try bucket.get(Self.key), current.value == value {
                        // A renewal whose answer was lost (a timeout) was applied all the same: only this
                        // node writes its name, so the lease is still its own, at the newer revision.
                        next = current.revision
                    }
                    guard let next else {
                        return lost("another node (\(holder() ?? "none")) took the cluster lease")
                    }
                    if failing { logger.notice("the cluster lease is renewed again") }
                    (revision, failing) = (next, false)
                } catch {
                    if !failing { logger.warning("cannot renew the cluster lease: \(error)") }
                    failing = true
                }
            }
        }
        thread.name = "cluster-lease"
        thread.start()
    }
}

extension Duration {
    /// In seconds, for `Thread.sleep`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}

extension Duration {
    /// Whole nanoseconds, for metrics timers.
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
