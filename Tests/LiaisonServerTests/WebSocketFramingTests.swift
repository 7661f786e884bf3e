import Testing
@testable import LiaisonServer

/// The headers of frames written back to back in one write: RFC 6455 §5.2, unmasked, FIN, text.
@Suite struct WebSocketFramingTests {
    func header(_ length: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: 12)
        let written = bytes.withUnsafeMutableBytes { WebSocketFraming.writeTextHeader(payloadLength: length, to: $0.baseAddress!) }
        #expect(written == WebSocketFraming.headerBytes(length))
        return Array(bytes.prefix(written))
    }

    @Test func payloadsUpTo125BytesHaveTheLengthInTheSecondByte() {
        #expect(header(0) == [0x81, 0])
        #expect(header(125) == [0x81, 125])
    }

    @Test func payloadsUpTo65535BytesHaveA16BitLength() {
        #expect(header(126) == [0x81, 126, 0, 126])
        #expect(header(65535) == [0x81, 126, 0xFF, 0xFF])
    }

    @Test func largerPayloadsHaveA64BitLength() {
        #expect(header(65536) == [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0])
        #expect(header(16 << 20) == [0x81, 127, 0, 0, 0, 0, 1, 0, 0, 0])
    }
}
