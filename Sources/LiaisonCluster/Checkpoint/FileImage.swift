/// A file as a checkpoint holds it: its length and the blobs its bytes are in, extent after extent from
/// offset 0. A checkpoint after a change uploads only the changed ranges and keeps the extents of the rest.
public struct FileImage: Codable, Equatable, Sendable {
    /// Bytes `from ..< from + length` of blob `blob`.
    public struct Extent: Codable, Equatable, Sendable {
        public var blob: String
        public var from: UInt64
        public var length: UInt64

        public init(blob: String, from: UInt64 = 0, length: UInt64) {
            self.blob = blob
            self.from = from
            self.length = length
        }
    }

    public var length: UInt64
    public var extents: [Extent]

    public init(length: UInt64 = 0, extents: [Extent] = []) {
        self.length = length
        self.extents = extents
    }

    /// Where each extent starts in the file.
    public var starts: [UInt64] {
        var offset: UInt64 = 0
        return extents.map { extent in
            defer { offset += extent.length }
            return offset
        }
    }

    /// The image after the file became `length` bytes long with `pieces` (ascending, not overlapping, within
    /// `length`) written anew, each uploaded as a whole blob; nil unless the pieces and the kept extents
    /// cover the whole file (bytes past the old end that no piece holds).
    public func replacing(_ pieces: [(range: Range<UInt64>, blob: String)], length: UInt64) -> FileImage? {
        var result: [Extent] = []
        var position: UInt64 = 0
        var kept = zip(starts, extents).makeIterator()
        var next = kept.next()
        /// Appends the old bytes `position ..< end`.
        func keep(upTo end: UInt64) -> Bool {
            while position < end {
                guard let (start, extent) = next else { return false }
                let stop = start + extent.length
                if stop <= position {
                    next = kept.next()
                    continue
                }
                let take = min(stop, end) - position
                append(Extent(blob: extent.blob, from: extent.from + (position - start), length: take))
                position += take
            }
            return true
        }
        func append(_ extent: Extent) {
            if let last = result.last, last.blob == extent.blob, last.from + last.length == extent.from {
                result[result.count - 1].length += extent.length
            } else if extent.length > 0 {
                result.append(extent)
            }
        }
        for piece in pieces {
            guard piece.range.lowerBound >= position, piece.range.upperBound <= length,
                  keep(upTo: piece.range.lowerBound) else { return nil }
            append(Extent(blob: piece.blob, length: UInt64(piece.range.count)))
            position = piece.range.upperBound
        }
        guard keep(upTo: min(length, self.length)), position == length else { return nil }
        return FileImage(length: length, extents: result)
    }

    /// Where the small extents at the end are merged into one: the start of the shortest tail of two or more
    /// extents, each shorter than `limit`, whose last ones together are at least as long as the one before
    /// them (so a file growing in small appends keeps few extents, and each byte is uploaded again a
    /// logarithmic number of times until its extent reaches `limit`); nil when there is none.
    public func mergeStart(under limit: UInt64) -> UInt64? {
        guard extents.count > 1, extents[extents.count - 1].length < limit else { return nil }
        var first = extents.count - 1
        var tail = extents[first].length
        while first > 0, extents[first - 1].length <= tail, extents[first - 1].length < limit {
            first -= 1
            tail += extents[first].length
        }
        return first < extents.count - 1 ? starts[first] : nil
    }
}
