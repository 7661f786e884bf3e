import Foundation
import LiaisonCore
import Metrics

/// Checkpoints of the active node's snapshot files (rooms, MOD requests, meetings: what the journal's
/// snapshotted records build) in a JetStream stream of blobs, so the journal can drop what they cover and a
/// node that takes over starts from the last one instead of from every record.
///
/// A checkpoint uploads only the bytes that changed since the last one (the file system tracks them), as
/// new blobs, then a manifest naming every file's extents; it counts once the journal holds a record
/// naming that manifest. Blobs are never changed, only added, so a deposed node's uploads can only add
/// blobs no committed manifest names. Once a checkpoint counts, the blobs the one before named and it does
/// not are removed; bytes overwritten in place (erased messages) are uploaded with the whole extents they
/// fall in, so no blob keeps them. Blobs no manifest named (a node died uploading) stay until everything
/// stored outweighs the live bytes twice over: then a checkpoint uploads every file anew and, once it
/// counts, removes everything stored before it. Used by one thread at a time (the hub's storage queue).
public final class JetStreamCheckpoints: @unchecked Sendable {
    /// Every file of a checkpoint, by path relative to the data directory.
    struct Manifest: Codable {
        /// The journal's records up to here are in the files.
        var through: UInt64
        var files: [String: FileImage]
    }

    /// A checkpoint uploaded but not yet named in the journal.
    public struct Prepared: Sendable {
        public let manifest: String
        public let through: UInt64
        /// Bytes uploaded for it.
        public let uploaded: Int
        fileprivate let files: [String: FileImage]
        /// Set when every file was uploaded anew: what was stored before this sequence is superseded.
        fileprivate let supersedes: UInt64?
    }

    private let blobs: JetStreamBlobs
    private let files: ChangeTrackingFileSystem
    /// Where the files are read and restored, untracked.
    private var base: any FileSystem { files.base }
    /// The term of the node (the journal sequence at which it became active): it names its blobs.
    private let term: UInt64
    /// What the stream may hold beyond twice the live bytes before a checkpoint rewrites every file.
    private let slack: UInt64
    private var committed = Manifest(through: 0, files: [:])
    private var committedName: String?
    /// The changes a prepared checkpoint uploaded, until one counts: the next one builds on the last that did.
    private var uncommitted: [String: [Range<UInt64>]] = [:]
    private var generation = 0
    private var blobCount = 0
    private let uploaded = Counter(label: "liaison_cluster_checkpoint_bytes_total")
    private let made = Counter(label: "liaison_cluster_checkpoints_total")

    public init(blobs: JetStreamBlobs, files: ChangeTrackingFileSystem, term: UInt64, slack: UInt64 = 64 << 20) {
        self.blobs = blobs
        self.files = files
        self.term = term
        self.slack = slack
    }

    private func path(_ relative: String) -> String { Path.join(files.root, relative) }

    private func nextBlob() -> String {
        blobCount += 1
        return "\(term)-\(generation)-\(blobCount)"
    }

    // MARK: Restoring

    /// Writes the files of checkpoint `manifest` into the data directory (whose snapshot files must be gone)
    /// and returns the journal sequence it covers and how many files and bytes it wrote. Throws unless every
    /// byte of every file was found.
    public func restore(_ manifest: String) throws -> (through: UInt64, files: Int, bytes: UInt64) {
        var bytes: [UInt8] = []
        guard try blobs.get(manifest, write: { bytes += $0 }) else {
            throw CheckpointError.missing("manifest \(manifest)")
        }
        let restored = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        // Where each blob's bytes go: (file, offset in the file, the blob's range).
        var uses: [Substring: [(file: String, at: UInt64, range: Range<UInt64>)]] = [:]
        var remaining: [String: UInt64] = [:]
        for (file, image) in restored.files {
            let absolute = path(file)
            try base.makeDirectory(Path.parent(of: absolute))
            try base.openForAppending(absolute).sync()
            try base.truncate(absolute, to: image.length)
            remaining[absolute] = image.length
            for (start, extent) in zip(image.starts, image.extents) {
                uses[Substring(extent.blob), default: []].append((absolute, start, extent.from..<(extent.from + extent.length)))
            }
        }
        try blobs.forEachChunk { name, offset, chunk in
            guard let targets = uses[name] else { return }
            let chunkRange = UInt64(offset)..<(UInt64(offset) + UInt64(chunk.count))
            for target in targets where target.range.overlaps(chunkRange) {
                let from = max(target.range.lowerBound, chunkRange.lowerBound)
                let to = min(target.range.upperBound, chunkRange.upperBound)
                let slice = Array(chunk[Int(from - chunkRange.lowerBound)..<Int(to - chunkRange.lowerBound)])
                try base.overwrite(target.file, at: target.at + (from - target.range.lowerBound), with: slice)
                remaining[target.file]! -= to - from
            }
        }
        if let (file, missing) = remaining.first(where: { $0.value != 0 }) {
            throw CheckpointError.missing("\(missing) bytes of \(file)")
        }
        committed = restored
        committedName = manifest
        return (restored.through, restored.files.count, restored.files.values.reduce(0) { $0 + $1.length })
    }

    // MARK: Checkpointing

    /// Uploads what changed in the files since the last checkpoint (every file, when superseded blobs
    /// outweigh the live ones), then a manifest of them all covering the journal through `through`.
    public func prepare(through: UInt64) throws -> Prepared {
        var changes = files.takeChanges()
        for (path, ranges) in uncommitted {
            for range in ranges { ChangeTrackingFileSystem.add(range, to: &changes[path, default: []]) }
        }
        uncommitted = [:]
        do {
            let (stored, last) = try blobs.size()
            let live = committed.files.values.reduce(0) { $0 + $1.length }
            let rewrite = stored > 2 * live + slack
            if rewrite { generation += 1 }
            var next = committed.files
            var bytesUploaded = 0
            let paths = rewrite ? Set(committed.files.keys).union(changes.keys) : Set(changes.keys)
            for file in paths.sorted() {
                guard let size = try base.size(of: path(file)) else {
                    next[file] = nil
                    continue
                }
                let old = rewrite ? FileImage() : committed.files[file] ?? FileImage()
                next[file] = try upload(file, size: size, over: old, changed: rewrite ? [0..<size] : changes[file] ?? [],
                                        uploaded: &bytesUploaded)
            }
            let manifest = Manifest(through: through, files: next)
            let name = nextBlob() + "-manifest"
            let bytes = try JSONEncoder().encode(manifest)
            try blobs.put(name, size: bytes.count) { offset, length in Array(bytes[offset..<(offset + length)]) }
            uncommitted = changes
            return Prepared(manifest: name, through: through, uploaded: bytesUploaded + bytes.count, files: next,
                            supersedes: rewrite ? last + 1 : nil)
        } catch {
            files.restore(changes)
            throw error
        }
    }

    /// Extents shorter than this are merged as a file grows (a megabyte: two chunks).
    static let mergedExtent: UInt64 = 1 << 20

    /// The image of `file` (now `size` bytes) after uploading its `changed` ranges over `old`, with the ranges
    /// the extents at its end merge into (see `FileImage.mergeStart`), or the whole file when its changes
    /// do not cover what is new.
    private func upload(_ file: String, size: UInt64, over old: FileImage, changed: [Range<UInt64>],
                        uploaded total: inout Int) throws -> FileImage {
        var ranges: [Range<UInt64>] = []
        let starts = old.starts
        for range in changed {
            // Within what was checkpointed: the whole extents it touches, so their blobs are no longer named.
            var widened = range
            for (start, extent) in zip(starts, old.extents)
            where start < range.upperBound && start + extent.length > range.lowerBound {
                widened = min(widened.lowerBound, start)..<max(widened.upperBound, start + extent.length)
            }
            let clamped = widened.clamped(to: 0..<size)
            if !clamped.isEmpty { ChangeTrackingFileSystem.add(clamped, to: &ranges) }
        }
        let planned = old.replacing(ranges.map { ($0, "") }, length: size)
        if let start = planned?.mergeStart(under: Self.mergedExtent) {
            ChangeTrackingFileSystem.add(start..<size, to: &ranges)
        } else if planned == nil {
            ranges = size > 0 ? [0..<size] : []
        }
        var pieces: [(range: Range<UInt64>, blob: String)] = []
        for range in ranges {
            let blob = nextBlob()
            let absolute = path(file)
            try blobs.put(blob, size: range.count) { offset, length in
                try base.read(absolute, offset: range.lowerBound + UInt64(offset), count: length)
            }
            uploaded.increment(by: range.count)
            total += range.count
            pieces.append((range, blob))
        }
        guard let image = (ranges == [0..<size] || ranges.isEmpty && size == 0 ? FileImage() : old)
            .replacing(pieces, length: size) else { throw CheckpointError.uncovered(file) }
        return image
    }

    /// Whether the next snapshot should be checkpointed whatever the journal's length: bytes were erased
    /// (retention), and their copies in the journal and in blobs go only with a checkpoint.
    public var erasurePending: Bool { files.hasOverwrites }

    /// Adopts `prepared` once the journal names it: the next checkpoint builds on it, and the blobs only the
    /// one before named are removed (all stored before it, if it rewrote every file).
    public func commit(_ prepared: Prepared) throws {
        let before = committed.files.values.reduce(into: Set<String>()) { $0.formUnion($1.extents.map(\.blob)) }
        let previous = committedName
        committed = Manifest(through: prepared.through, files: prepared.files)
        committedName = prepared.manifest
        uncommitted = [:]
        made.increment()
        if let supersedes = prepared.supersedes {
            try blobs.removeAll(below: supersedes)
            return
        }
        let after = committed.files.values.reduce(into: Set<String>()) { $0.formUnion($1.extents.map(\.blob)) }
        for blob in before.subtracting(after).union(previous.map { [$0] } ?? []) { try blobs.remove(blob) }
    }
}

/// Why a checkpoint could not be restored or made.
enum CheckpointError: Error, CustomStringConvertible {
    case missing(String)
    case uncovered(String)

    var description: String {
        switch self {
        case .missing(let what): "the checkpoint lacks \(what)"
        case .uncovered(let file): "the changes of \(file) do not cover it"
        }
    }
}
