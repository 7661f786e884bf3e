import Foundation

/// The on-disk framing of journal and archive records: a little-endian `UInt32` payload length, the
/// payload's CRC-32, then the payload. A record cut short or failing its CRC ends the readable part.
public enum RecordFraming {
    static let headerSize = 8

    /// `payload` framed.
    static func frame(_ payload: some Collection<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize + payload.count)
        append(payload, to: &bytes)
        return bytes
    }

    static func append(_ payload: some Collection<UInt8>, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: CRC32.checksum(payload).littleEndian) { bytes += $0 }
        bytes += payload
    }

    /// The whole records of `data` with their offsets, and the length of the valid prefix (where a torn
    /// or corrupt record starts, if any).
    static func records(in data: Data) -> (records: [(offset: Int, payload: Data)], validLength: Int) {
        var records: [(Int, Data)] = []
        var offset = 0
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            while offset + headerSize <= buffer.count {
                let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let crc = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                let start = offset + headerSize
                guard start + length <= buffer.count else { break }
                let payload = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)])
                guard CRC32.checksum(payload) == crc else { break }
                records.append((offset, Data(payload)))
                offset = start + length
            }
        }
        return (records, offset)
    }
}
