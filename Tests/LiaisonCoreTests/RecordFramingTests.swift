import Foundation
import Testing
@testable import LiaisonCore

/// Length + CRC-32 framing of journal and archive records, and the valid prefix of a damaged file.
@Suite struct RecordFramingTests {
    let payloads: [[UInt8]] = [
        Array(#"{"type":"msg","room":"r1","seq":1}"#.utf8),
        Array("second record".utf8),
        Array(repeating: 0xAB, count: 1000),
        Array("last".utf8),
    ]

    /// The framed payloads, concatenated, and where each record starts.
    func framed(_ payloads: [[UInt8]]) -> (data: Data, starts: [Int]) {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        for payload in payloads {
            starts.append(bytes.count)
            bytes += RecordFraming.frame(payload)
        }
        return (Data(bytes), starts)
    }

    @Test func severalRecordsRoundTrip() {
        let (data, starts) = framed(payloads)
        let (records, validLength) = RecordFraming.records(in: data)
        #expect(records.map { Array($0.payload) } == payloads)
        #expect(records.map(\.offset) == starts)
        #expect(validLength == data.count)
    }

    @Test func frameIsLengthThenCRCThenPayload() {
        let payload = Array("abc".utf8)
        let bytes = RecordFraming.frame(payload)
        #expect(bytes.count == RecordFraming.headerSize + 3)
        #expect(Array(bytes[0..<4]) == [3, 0, 0, 0])
        let crc = CRC32.checksum(payload)
        #expect(Array(bytes[4..<8]) == [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)])
        #expect(Array(bytes[8...]) == payload)
    }

    @Test func appendFramesTheSameBytesAsFrame() {
        var bytes: [UInt8] = [1, 2, 3]
        RecordFraming.append(payloads[0], to: &bytes)
        #expect(bytes == [1, 2, 3] + RecordFraming.frame(payloads[0]))
    }

    @Test func recordCutShortEndsTheValidPrefixAtItsStart() {
        let (data, starts) = framed(payloads)
        let cutRecord = 2
        let recordEnd = starts[cutRecord + 1]
        // Every cut inside the record: in its header, right after it, and inside the payload.
        for end in (starts[cutRecord] + 1)..<recordEnd {
            let (records, validLength) = RecordFraming.records(in: data.prefix(end))
            #expect(records.count == cutRecord, "cut at \(end)")
            #expect(validLength == starts[cutRecord], "cut at \(end)")
        }
    }

    @Test func cutAtARecordBoundaryLeavesEveryWholeRecord() {
        let (data, starts) = framed(payloads)
        let (records, validLength) = RecordFraming.records(in: data.prefix(starts[2]))
        #expect(records.map { Array($0.payload) } == Array(payloads.prefix(2)))
        #expect(validLength == starts[2])
    }

    @Test func flippedPayloadByteEndsTheValidPrefixAtItsRecord() {
        var (data, starts) = framed(payloads)
        let flipped = starts[1] + RecordFraming.headerSize + 4
        data[flipped] ^= 0x01
        let (records, validLength) = RecordFraming.records(in: data)
        #expect(records.map { Array($0.payload) } == [payloads[0]])
        #expect(validLength == starts[1])
    }

    @Test func flippedCRCByteEndsTheValidPrefixAtItsRecord() {
        var (data, starts) = framed(payloads)
        data[starts[3] + 5] ^= 0x80
        let (records, validLength) = RecordFraming.records(in: data)
        #expect(records.count == 3)
        #expect(validLength == starts[3])
    }

    @Test func emptyPayloadsRoundTrip() {
        let withEmpties: [[UInt8]] = [[], Array("x".utf8), [], []]
        let (data, starts) = framed(withEmpties)
        #expect(data.count == 4 * RecordFraming.headerSize + 1)
        let (records, validLength) = RecordFraming.records(in: data)
        #expect(records.map { Array($0.payload) } == withEmpties)
        #expect(records.map(\.offset) == starts)
        #expect(validLength == data.count)
    }

    @Test func emptyDataHasNoRecords() {
        let (records, validLength) = RecordFraming.records(in: Data())
        #expect(records.isEmpty)
        #expect(validLength == 0)
    }

    @Test func recordsOfADataSliceUseItsOwnIndices() {
        let (data, _) = framed(payloads)
        var prefixed = Data([9, 9, 9])
        prefixed.append(data)
        let slice = prefixed.dropFirst(3)
        let (records, validLength) = RecordFraming.records(in: slice)
        #expect(records.map { Array($0.payload) } == payloads)
        #expect(validLength == data.count)
    }

    @Test func crc32OfTheCheckStringIsCBF43926() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func crc32OfNothingIsZero() {
        #expect(CRC32.checksum([UInt8]()) == 0)
    }
}
