import Foundation
import Testing
@testable import LiaisonCore

/// The formats of the interaction record: CSV cells quoted as RFC 4180 says and never read as formulas,
/// JSONL lines with the fields a row has, ISO 8601 times.
@Suite struct InteractionWriterTests {
    func cell(_ text: String) -> String { String(decoding: CSVInteractionWriter.cell(text), as: UTF8.self) }

    @Test func plainCellsAreWrittenAsTheyAre() {
        #expect(cell("hello") == "hello")
        #expect(cell("") == "")
        #expect(cell("Grüße, 👋") == "\"Grüße, 👋\"")
        #expect(cell("1700000000000") == "1700000000000")
    }

    @Test func cellsWithCommasQuotesOrLineBreaksAreQuoted() {
        #expect(cell("a,b") == "\"a,b\"")
        #expect(cell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(cell("two\nlines") == "\"two\nlines\"")
        #expect(cell("cr\r\nlf") == "\"cr\r\nlf\"")
    }

    @Test func formulaCellsGetALeadingApostrophe() {
        #expect(cell("=1+1") == "'=1+1")
        #expect(cell("+33 6 12") == "'+33 6 12")
        #expect(cell("-2") == "'-2")
        #expect(cell("@SUM(A1)") == "'@SUM(A1)")
        #expect(cell("\tx") == "'\tx")
        #expect(cell("=HYPERLINK(\"x\",\"y\")") == "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"")
        #expect(cell("a=b") == "a=b")
    }

    @Test func aRowEndsWithCRLF() {
        #expect(String(decoding: CSVInteractionWriter.row(["a", "b,c", ""]), as: UTF8.self) == "a,\"b,c\",\r\n")
    }

    @Test func theCSVHeaderNamesEveryFieldInOrder() throws {
        var output: [UInt8] = []
        var writer = CSVInteractionWriter { output += $0 }
        try writer.begin()
        try writer.finish()
        #expect(String(decoding: output, as: UTF8.self) == InteractionField.allCases.map(\.rawValue).joined(separator: ",") + "\r\n")
    }

    @Test func timesAreISO8601UTCWithMilliseconds() {
        #expect(ExportTime.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(ExportTime.format(1_795_316_400_123) == "2026-11-22T03:00:00.123Z")
        #expect(ExportTime.format(-1) == "1969-12-31T23:59:59.999Z")
        #expect(ExportTime.parse("2026-11-22T03:00:00.123Z") == 1_795_316_400_123)
        #expect(ExportTime.parse("2026-11-22T04:00:00+01:00") == 1_795_316_400_000)
        #expect(ExportTime.parse("1970-01-02") == 86_400_000)
        #expect(ExportTime.parse("yesterday") == nil)
        #expect(ExportTime.parse("2026-13-01") == nil)
    }

    @Test func claimOutcomeNamesAreSnakeCase() {
        #expect(ModInteractions.snakeCase("alreadyClaimed") == "already_claimed")
        #expect(ModInteractions.snakeCase("won") == "won")
    }
}
