import Foundation
import Synchronization
@testable import LiaisonCore

/// A file system in memory that keeps apart what was written and what was made durable, as LazyFS or
/// SQLite's test VFS do: a file's bytes survive a power cut only once the file was synced, and a
/// created, renamed or removed entry only once its directory was synced.
///
/// Every mutating call is one numbered step. With `cutAt: k`, the durable state as it stood just before
/// step k is kept as `crashImage` (the power went off there), while the running code carries on
/// unaware; a new file system made from that image is what a restart finds.
final class SimulatedFileSystem: FileSystem {
    enum Entry: Equatable, Sendable {
        case directory
        case file(Int)
    }

    /// What survives a power cut: durable entries and each file's durable bytes.
    struct Image: Sendable {
        var entries: [String: Entry]
        var contents: [Int: [UInt8]]
    }

    private struct Inode {
        var written: [UInt8] = []
        var durable: [UInt8] = []
    }

    private struct State {
        var entries: [String: Entry] = ["/": .directory]
        var durableEntries: [String: Entry] = ["/": .directory]
        var inodes: [Int: Inode] = [:]
        var nextInode = 1
        var steps = 0
        var crashImage: Image?
    }

    private let state: Mutex<State>
    private let cutAt: Int?
    /// Seconds each sync of a path under `slowPrefix` takes (a slow disk).
    private let slowPrefix: String?
    private let slowSync: Double

    init(cutAt: Int? = nil, slowPrefix: String? = nil, slowSync: Double = 0, from image: Image? = nil) {
        var initial = State()
        if let image {
            initial.entries = image.entries
            initial.durableEntries = image.entries
            for (inode, bytes) in image.contents { initial.inodes[inode] = Inode(written: bytes, durable: bytes) }
            initial.nextInode = (image.contents.keys.max() ?? 0) + 1
        }
        state = Mutex(initial)
        self.cutAt = cutAt
        self.slowPrefix = slowPrefix
        self.slowSync = slowSync
    }

    /// Steps taken so far.
    var steps: Int { state.withLock { $0.steps } }

    /// The durable state at the cut (or now, if the cut was never reached).
    var crashImage: Image { state.withLock { $0.crashImage ?? Self.image(of: $0) } }

    private static func image(of state: State) -> Image {
        // An entry whose parent directory did not survive is gone with it.
        func reachable(_ path: String) -> Bool {
            guard path != "/" else { return true }
            let parent = Path.parent(of: path)
            return state.durableEntries[parent] == .directory && reachable(parent)
        }
        let entries = state.durableEntries.filter { reachable($0.key) }
        var contents: [Int: [UInt8]] = [:]
        for case .file(let inode) in entries.values { contents[inode] = state.inodes[inode]?.durable ?? [] }
        return Image(entries: entries, contents: contents)
    }

    /// Counts one mutating step, keeping the crash image when the cut is reached, then applies `change`.
    private func step<T>(_ change: (inout State) throws -> T) rethrows -> T {
        try state.withLock { state in
            state.steps += 1
            if state.steps == cutAt { state.crashImage = Self.image(of: state) }
            return try change(&state)
        }
    }

    private func inode(_ path: String, in state: State) throws -> Int {
        guard case .file(let inode) = state.entries[path] else { throw POSIXError(.ENOENT) }
        return inode
    }

    // MARK: FileSystem

    func exists(_ path: String) -> Bool {
        state.withLock { $0.entries[path] != nil }
    }

    func contents(of path: String) throws -> [UInt8]? {
        try state.withLock { state in
            guard state.entries[path] != nil else { return nil }
            return state.inodes[try inode(path, in: state)]?.written
        }
    }

    func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        try state.withLock { state in
            let bytes = state.inodes[try inode(path, in: state)]?.written ?? []
            guard offset < bytes.count else { return [] }
            return Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + count)])
        }
    }

    func size(of path: String) throws -> UInt64? {
        try state.withLock { state in
            guard state.entries[path] != nil else { return nil }
            return UInt64(state.inodes[try inode(path, in: state)]?.written.count ?? 0)
        }
    }

    func list(_ directory: String) throws -> [String] {
        state.withLock { state in
            state.entries.keys.filter { $0 != "/" && Path.parent(of: $0) == directory }
                .map { String($0.dropFirst(directory.count + (directory.hasSuffix("/") ? 0 : 1))) }
        }
    }

    func createDirectory(_ path: String) throws {
        try step { state in
            guard state.entries[Path.parent(of: path)] == .directory else { throw POSIXError(.ENOENT) }
            if state.entries[path] == nil { state.entries[path] = .directory }
        }
    }

    func openForAppending(_ path: String) throws -> any AppendableFile {
        let inode = try step { state -> Int in
            if let existing = state.entries[path] {
                guard case .file(let inode) = existing else { throw POSIXError(.EISDIR) }
                return inode
            }
            guard state.entries[Path.parent(of: path)] == .directory else { throw POSIXError(.ENOENT) }
            let inode = state.nextInode
            state.nextInode += 1
            state.inodes[inode] = Inode()
            state.entries[path] = .file(inode)
            return inode
        }
        return SimulatedFile(fileSystem: self, inode: inode, path: path)
    }

    func truncate(_ path: String, to length: UInt64) throws {
        try step { state in
            let inode = try inode(path, in: state)
            var bytes = state.inodes[inode]?.written ?? []
            if bytes.count > Int(length) { bytes.removeLast(bytes.count - Int(length)) }
            else { bytes += [UInt8](repeating: 0, count: Int(length) - bytes.count) }
            state.inodes[inode]?.written = bytes
        }
    }

    func overwrite(_ path: String, at offset: UInt64, with bytes: [UInt8]) throws {
        try step { state in
            let inode = try inode(path, in: state)
            guard var written = state.inodes[inode]?.written, Int(offset) + bytes.count <= written.count else {
                throw POSIXError(.EINVAL)
            }
            written.replaceSubrange(Int(offset)..<(Int(offset) + bytes.count), with: bytes)
            state.inodes[inode]?.written = written
        }
    }

    func rename(_ source: String, to destination: String) throws {
        try step { state in
            guard let entry = state.entries[source] else { throw POSIXError(.ENOENT) }
            state.entries[destination] = entry
            state.entries[source] = nil
        }
    }

    func remove(_ path: String) throws {
        step { state in state.entries[path] = nil }
    }

    func syncDirectory(_ path: String) throws {
        slowDown(path)
        step { state in
            let children = { (entries: [String: Entry]) in entries.keys.filter { $0 != "/" && Path.parent(of: $0) == path } }
            for child in children(state.durableEntries) where state.entries[child] == nil { state.durableEntries[child] = nil }
            for child in children(state.entries) { state.durableEntries[child] = state.entries[child] }
        }
    }

    // MARK: Files

    fileprivate func append(_ bytes: [UInt8], to inode: Int) {
        step { state in state.inodes[inode]?.written += bytes }
    }

    fileprivate func sync(_ inode: Int, path: String) {
        slowDown(path)
        step { state in
            if let written = state.inodes[inode]?.written { state.inodes[inode]?.durable = written }
        }
    }

    private func slowDown(_ path: String) {
        if let slowPrefix, path.hasPrefix(slowPrefix), slowSync > 0 { Thread.sleep(forTimeInterval: slowSync) }
    }
}

/// A file of a `SimulatedFileSystem`, open for appending.
private final class SimulatedFile: AppendableFile {
    let fileSystem: SimulatedFileSystem
    let inode: Int
    let path: String

    init(fileSystem: SimulatedFileSystem, inode: Int, path: String) {
        self.fileSystem = fileSystem
        self.inode = inode
        self.path = path
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        fileSystem.append(Array(bytes), to: inode)
    }

    func sync() throws {
        fileSystem.sync(inode, path: path)
    }
}
