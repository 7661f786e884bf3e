/// RFC 4180 CSV in UTF-8: a header row of `InteractionField` names, then a row per record, CRLF line
/// ends. A cell holding a comma, a quote, CR or LF is quoted (quotes doubled); a cell a spreadsheet would
/// read as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`.
struct CSVInteractionWriter: InteractionWriter {
    private var output: BufferedOutput

    init(output: @escaping ExportOutput) {
        self.output = BufferedOutput(output)
    }

    mutating func begin() throws {
        try output.append(Self.row(InteractionField.allCases.map(\.rawValue)))
    }

    mutating func write(_ record: InteractionRecord) throws {
        try output.append(Self.row(InteractionField.allCases.map { field in
            switch record[field] {
            case nil: ""
            case .text(let text)?: text
            case .number(let number)?: String(number)
            case .list(let items)?: items.joined(separator: ",")
            }
        }))
    }

    mutating func finish() throws {
        try output.flush()
    }

    /// The cells as one line, CRLF included.
    static func row(_ cells: [String]) -> [UInt8] {
        var line: [UInt8] = []
        for (index, cell) in cells.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            line += Self.cell(cell)
        }
        line += [0x0D, 0x0A]
        return line
    }

    private static let formulaStarts: Set<UInt8> = [
        UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D,
    ]
    private static let needsQuotes: Set<UInt8> = [UInt8(ascii: ","), UInt8(ascii: "\""), 0x0D, 0x0A]

    /// One cell: neutralised if it could be a formula, then quoted if it must be.
    static func cell(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        if let first = bytes.first, formulaStarts.contains(first) { bytes.insert(UInt8(ascii: "'"), at: 0) }
        guard bytes.contains(where: needsQuotes.contains) else { return bytes }
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        for byte in bytes {
            quoted.append(byte)
            if byte == UInt8(ascii: "\"") { quoted.append(byte) }
        }
        quoted.append(UInt8(ascii: "\""))
        return quoted
    }
}
