/// One JSON object a line; a record's fields in `InteractionField` order, absent ones left out.
struct JSONLInteractionWriter: InteractionWriter {
    private var output: BufferedOutput

    init(output: @escaping ExportOutput) {
        self.output = BufferedOutput(output)
    }

    mutating func begin() throws {}

    mutating func write(_ record: InteractionRecord) throws {
        try output.append(Self.line(record))
    }

    mutating func finish() throws {
        try output.flush()
    }

    /// The record's line, newline included.
    static func line(_ record: InteractionRecord) -> [UInt8] {
        var writer = JSONWriter(capacity: 512)
        writer.object { writer in
            for field in InteractionField.allCases {
                switch record[field] {
                case nil: break
                case .text(let text)?: writer.field(named: field.rawValue, text)
                case .number(let number)?: writer.field(named: field.rawValue, number: number)
                case .list(let items)?: writer.field(named: field.rawValue, items)
                }
            }
        }
        var line = writer.bytes
        line.append(UInt8(ascii: "\n"))
        return line
    }
}
