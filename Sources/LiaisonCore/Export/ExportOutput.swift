/// Where an export's bytes go, in order: a file, an HTTP response. Called with at most about 64 KiB at a
/// time; may block (an HTTP client reading slowly) and may throw to stop the export.
public typealias ExportOutput = (_ bytes: [UInt8]) throws -> Void

/// Collects an export's bytes and hands them to its output 64 KiB at a time.
struct BufferedOutput {
    private let output: ExportOutput
    private var buffer: [UInt8] = []
    private static let chunk = 64 << 10

    init(_ output: @escaping ExportOutput) {
        self.output = output
        buffer.reserveCapacity(Self.chunk + 4096)
    }

    mutating func append(_ bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.chunk { try flush() }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try output(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Writes rows in one format.
protocol InteractionWriter {
    /// What comes before the first row (a CSV header).
    mutating func begin() throws
    mutating func write(_ record: InteractionRecord) throws
    /// Hands everything still buffered to the output.
    mutating func finish() throws
}

enum InteractionWriters {
    static func make(_ format: ExportFormat, output: @escaping ExportOutput) -> any InteractionWriter {
        switch format {
        case .jsonl: JSONLInteractionWriter(output: output)
        case .csv: CSVInteractionWriter(output: output)
        }
    }
}
