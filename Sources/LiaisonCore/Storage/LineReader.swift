/// Reads a file's lines in order, a chunk at a time, so memory stays flat however long the file is.
/// Lines are split on `\n` (not included). A last line without one is left out: it is still being
/// written (a reader beside the writer), or was torn by a crash (and is cut at the next start).
struct LineReader {
    private let path: String
    private let fileSystem: any FileSystem
    /// Bytes of the file to read: those appended after the reader was made are left alone.
    private let limit: UInt64
    private let chunkSize: Int
    private var buffer: [UInt8] = []
    private var start = 0
    /// The file offset of `buffer[0]`.
    private var bufferOffset: UInt64 = 0
    private var exhausted = false

    /// Reads `path` up to `limit` bytes (default: its length now).
    init(path: String, fileSystem: any FileSystem, limit: UInt64? = nil, chunkSize: Int = 1 << 20) throws {
        self.path = path
        self.fileSystem = fileSystem
        self.limit = try limit ?? fileSystem.size(of: path) ?? 0
        self.chunkSize = chunkSize
    }

    /// The next line and the file offset just past it (and its newline); nil at the end.
    mutating func next() throws -> (line: ArraySlice<UInt8>, end: UInt64)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<newline]
                start = newline + 1
                return (line, bufferOffset + UInt64(start))
            }
            guard !exhausted else { return nil }
            try refill()
        }
    }

    /// Drops the lines already returned and appends the next chunk.
    private mutating func refill() throws {
        bufferOffset += UInt64(start)
        buffer.removeFirst(start)
        start = 0
        let position = bufferOffset + UInt64(buffer.count)
        let wanted = Int(min(UInt64(chunkSize), limit - min(limit, position)))
        let chunk = wanted > 0 ? try fileSystem.read(path, offset: position, count: wanted) : []
        exhausted = chunk.isEmpty
        buffer += chunk
    }
}
