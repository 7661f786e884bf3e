/// RFC 6455 framing of the server's own text frames (unmasked, final), for writing several frames with
/// one raw write. libwebsockets frames a single write itself; this is the same header, for a batch.
enum WebSocketFraming {
    /// Header bytes of an unmasked frame with `payloadLength` bytes of payload: 2, 4 or 10.
    static func headerBytes(_ payloadLength: Int) -> Int {
        payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10
    }

    /// Writes the header of a final, unmasked text frame at `destination`; returns its length.
    static func writeTextHeader(payloadLength: Int, to destination: UnsafeMutableRawPointer) -> Int {
        let header = destination.assumingMemoryBound(to: UInt8.self)
        header[0] = 0x81  // FIN, opcode 1 (text)
        switch payloadLength {
        case ..<126:
            header[1] = UInt8(payloadLength)
            return 2
        case ..<65536:
            header[1] = 126
            header[2] = UInt8(truncatingIfNeeded: payloadLength >> 8)
            header[3] = UInt8(truncatingIfNeeded: payloadLength)
            return 4
        default:
            header[1] = 127
            for index in 0..<8 {
                header[2 + index] = UInt8(truncatingIfNeeded: UInt64(payloadLength) >> (56 - 8 * UInt64(index)))
            }
            return 10
        }
    }
}
