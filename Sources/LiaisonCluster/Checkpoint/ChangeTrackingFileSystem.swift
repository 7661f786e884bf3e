import LiaisonCore
import LiaisonSync

/// A file system that remembers which bytes of some files changed (appended, overwritten, truncated,
/// replaced, removed) since they were last taken, so a checkpoint uploads only those. It tracks the
/// files under `root` that `tracked` names (relative paths), and passes everything through to `base`.
public final class ChangeTrackingFileSystem: FileSystem {
    public let root: String
    /// The file system underneath, whose writes are not tracked.
    public let base: any FileSystem
    private let tracked: @Sendable (String) -> Bool
    /// Per tracked path (relative to `root`): the byte ranges that changed, ascending and disjoint.
    private let changes = Locked<[String: [Range<UInt64>]]>([:])

    public init(root: String, base: any FileSystem, tracked: @escaping @Sendable (String) -> Bool) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        self.base = base
        self.tracked = tracked
    }

    /// Whether bytes were overwritten in place (a retention erasure scrubs messages) since changes were taken.
    public var hasOverwrites: Bool { overwrites.withLock { $0 } }
    private let overwrites = Locked(false)

    /// The changes since the last call, and forgets them (`restore` them if they could not be uploaded).
    public func takeChanges() -> [String: [Range<UInt64>]] {
        overwrites.withLock { $0 = false }
        return changes.withLock { changes in
            defer { changes = [:] }
            return changes
        }
    }

    /// Puts back changes `takeChanges` returned, merged with any made since (counted as overwrites: they
    /// may have been).
    public func restore(_ taken: [String: [Range<UInt64>]]) {
        overwrites.withLock { $0 = true }
        changes.withLock { changes in
            for (path, ranges) in taken {
                for range in ranges { Self.add(range, to: &changes[path, default: []]) }
            }
        }
    }

    /// `path` relative to `root`, if it is a tracked file.
    private func trackedPath(_ path: String) -> String? {
        guard path.hasPrefix(root + "/") else { return nil }
        let relative = String(path.dropFirst(root.count + 1))
        return tracked(relative) ? relative : nil
    }

    /// Records that bytes `range` of `path` changed (the whole file from `range.lowerBound` when the range
    /// is open-ended), if it is tracked.
    private func note(_ path: String, _ range: Range<UInt64>) {
        guard let relative = trackedPath(path), !range.isEmpty else { return }
        changes.withLock { Self.add(range, to: &$0[relative, default: []]) }
    }

    /// Adds `range` to the ascending, disjoint `ranges`, merging it with those it overlaps or touches.
    static func add(_ range: Range<UInt64>, to ranges: inout [Range<UInt64>]) {
        var merged = range
        var result: [Range<UInt64>] = []
        for existing in ranges {
            if existing.upperBound < merged.lowerBound || existing.lowerBound > merged.upperBound {
                result.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)..<max(existing.upperBound, merged.upperBound)
            }
        }
        result.append(merged)
        ranges = result.sorted { $0.lowerBound < $1.lowerBound }
    }

    private static let wholeFile: Range<UInt64> = 0..<UInt64.max

    // MARK: FileSystem

    public func exists(_ path: String) -> Bool { base.exists(path) }
    public func contents(of path: String) throws -> [UInt8]? { try base.contents(of: path) }
    public func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        try base.read(path, offset: offset, count: count)
    }
    public func size(of path: String) throws -> UInt64? { try base.size(of: path) }
    public func list(_ directory: String) throws -> [String] { try base.list(directory) }
    public func createDirectory(_ path: String) throws { try base.createDirectory(path) }
    public func syncDirectory(_ path: String) throws { try base.syncDirectory(path) }
    public func restrictToOwner(_ path: String) throws { try base.restrictToOwner(path) }

    public func openForAppending(_ path: String) throws -> any AppendableFile {
        guard trackedPath(path) != nil else { return try base.openForAppending(path) }
        let created = !base.exists(path)
        let file = try base.openForAppending(path)
        if created { note(path, Self.wholeFile) }
        return TrackedFile(file: file) { [self] count in
            let end = try base.size(of: path) ?? 0
            note(path, end..<(end + UInt64(count)))
        }
    }

    public func truncate(_ path: String, to length: UInt64) throws {
        let before = try base.size(of: path) ?? 0
        try base.truncate(path, to: length)
        note(path, min(before, length)..<UInt64.max)
    }

    public func overwrite(_ path: String, at offset: UInt64, with bytes: [UInt8]) throws {
        try base.overwrite(path, at: offset, with: bytes)
        note(path, offset..<(offset + UInt64(bytes.count)))
        if trackedPath(path) != nil { overwrites.withLock { $0 = true } }
    }

    public func rename(_ source: String, to destination: String) throws {
        try base.rename(source, to: destination)
        note(source, Self.wholeFile)
        note(destination, Self.wholeFile)
    }

    public func remove(_ path: String) throws {
        try base.remove(path)
        note(path, Self.wholeFile)
    }

    /// A file opened for appending whose appends are noted before they are made (the ranges they will
    /// take: noting a change that then fails only uploads more).
    private final class TrackedFile: AppendableFile {
        private let file: any AppendableFile
        private let appending: @Sendable (Int) throws -> Void

        init(file: any AppendableFile, appending: @escaping @Sendable (Int) throws -> Void) {
            self.file = file
            self.appending = appending
        }

        func append(_ bytes: UnsafeRawBufferPointer) throws {
            try appending(bytes.count)
            try file.append(bytes)
        }

        func sync() throws { try file.sync() }
    }
}
