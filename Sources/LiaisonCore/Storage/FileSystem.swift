/// The file operations Liaison's storage performs, behind one small protocol so tests can substitute a
/// file system (one that keeps only what was synced, to simulate power loss at every step).
///
/// Paths are absolute. Durability is explicit, as with POSIX: data written to a file is durable once the
/// file is synced; a directory entry (a created, renamed or removed file) once its directory is synced.
public protocol FileSystem: Sendable {
    /// Whether `path` names a file or a directory.
    func exists(_ path: String) -> Bool
    /// The whole file, or nil when it does not exist.
    func contents(of path: String) throws -> [UInt8]?
    /// Up to `count` bytes of `path` from `offset` (fewer at the end of the file).
    func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8]
    /// The file's length, or nil when it does not exist.
    func size(of path: String) throws -> UInt64?
    /// The names in `directory` (empty when it does not exist).
    func list(_ directory: String) throws -> [String]
    /// Creates the directory `path`, whose parent exists; no error if it already exists.
    func createDirectory(_ path: String) throws
    /// Opens `path` for appending, creating an empty file when missing.
    func openForAppending(_ path: String) throws -> any AppendableFile
    /// Cuts (or extends with zeros) `path` to `length` bytes; durable once the file is synced.
    func truncate(_ path: String, to length: UInt64) throws
    /// Replaces the bytes of the existing file `path` at `offset` with `bytes` (within its length);
    /// durable once the file is synced.
    func overwrite(_ path: String, at offset: UInt64, with bytes: [UInt8]) throws
    /// Moves `source` to `destination`, replacing it atomically.
    func rename(_ source: String, to destination: String) throws
    /// Removes the file `path`; no error if it does not exist.
    func remove(_ path: String) throws
    /// Makes the creations, renames and removals of entries in `directory` durable.
    func syncDirectory(_ path: String) throws
    /// Lets only the owner read and write `path` (mode 0600), for secrets.
    func restrictToOwner(_ path: String) throws
}

/// A file opened for appending.
public protocol AppendableFile: AnyObject, Sendable {
    /// Appends all of `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// Makes everything appended (and any truncation) durable.
    func sync() throws
}

extension FileSystem {
    /// File systems without owners (in tests) have nothing to restrict.
    public func restrictToOwner(_ path: String) throws {}
}

extension AppendableFile {
    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }
}

extension FileSystem {
    /// Creates `path` and any missing parents, each entry made durable in its parent directory.
    public func makeDirectory(_ path: String) throws {
        guard !exists(path) else { return }
        let parent = Path.parent(of: path)
        if parent != path { try makeDirectory(parent) }
        try createDirectory(path)
        try syncDirectory(parent)
    }

    /// Opens `path` for appending; a file it creates is made durable in its directory first.
    public func openDurably(_ path: String) throws -> any AppendableFile {
        let created = !exists(path)
        let file = try openForAppending(path)
        if created { try syncDirectory(Path.parent(of: path)) }
        return file
    }

    /// Replaces `path` with `bytes` so that a crash leaves either the old or the new contents, never a
    /// mix: a temporary file is written and synced, renamed over `path`, and the directory synced.
    public func replace(_ path: String, with bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        try remove(temporary)
        let file = try openForAppending(temporary)
        try file.append(bytes)
        try file.sync()
        try rename(temporary, to: path)
        try syncDirectory(Path.parent(of: path))
    }

    /// Cuts `path` to `length` bytes durably (a torn tail found at start-up).
    public func cut(_ path: String, to length: UInt64) throws {
        try truncate(path, to: length)
        try openForAppending(path).sync()
    }

    /// Removes the files `paths` of `directory`, then makes their removal durable.
    public func remove(_ paths: [String], in directory: String) throws {
        guard !paths.isEmpty else { return }
        for path in paths { try remove(path) }
        try syncDirectory(directory)
    }
}

/// Path arithmetic on plain strings.
public enum Path {
    /// `base/name`.
    public static func join(_ base: String, _ name: String) -> String {
        base.hasSuffix("/") ? base + name : base + "/" + name
    }

    /// The directory holding `path` (`/` for a top-level path).
    public static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }
}
