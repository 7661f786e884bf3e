import Testing
@testable import LiaisonCluster

/// How a checkpoint's image of a file changes with the ranges uploaded anew.
struct FileImageTests {
    typealias Extent = FileImage.Extent

    @Test func anAppendAddsAnExtentAndKeepsTheRest() throws {
        let image = FileImage(length: 10, extents: [Extent(blob: "a", length: 10)])
        let next = try #require(image.replacing([(10..<15, "b")], length: 15))
        #expect(next.extents == [Extent(blob: "a", length: 10), Extent(blob: "b", length: 5)])
    }

    @Test func anOverwriteInTheMiddleSplitsTheExtentAroundIt() throws {
        let image = FileImage(length: 10, extents: [Extent(blob: "a", length: 10)])
        let next = try #require(image.replacing([(3..<5, "b")], length: 10))
        #expect(next.extents == [Extent(blob: "a", length: 3), Extent(blob: "b", length: 2),
                                 Extent(blob: "a", from: 5, length: 5)])
    }

    @Test func aTruncationDropsWhatIsPastTheNewEnd() throws {
        let image = FileImage(length: 10, extents: [Extent(blob: "a", length: 6), Extent(blob: "b", length: 4)])
        let next = try #require(image.replacing([], length: 4))
        #expect(next == FileImage(length: 4, extents: [Extent(blob: "a", length: 4)]))
    }

    @Test func bytesPastTheOldEndThatNoRangeHoldsMakeNoImage() {
        let image = FileImage(length: 10, extents: [Extent(blob: "a", length: 10)])
        #expect(image.replacing([(12..<15, "b")], length: 15) == nil)
        #expect(image.replacing([], length: 11) == nil)
    }

    @Test func extentsOfSmallAppendsMergeLikeABinaryCounter() {
        #expect(FileImage(length: 110, extents: [Extent(blob: "a", length: 100), Extent(blob: "b", length: 10)])
            .mergeStart(under: 1000) == nil)
        // Two of 10 after 100: they merge into one of 20; and with the 20 the 100 does not.
        #expect(FileImage(length: 120, extents: [Extent(blob: "a", length: 100), Extent(blob: "b", length: 10),
                                                 Extent(blob: "c", length: 10)]).mergeStart(under: 1000) == 100)
        #expect(FileImage(length: 20, extents: [Extent(blob: "a", length: 10), Extent(blob: "b", length: 10)])
            .mergeStart(under: 1000) == 0)
    }

    @Test func extentsAsLongAsTheLimitAreNeverMergedAgain() {
        let image = FileImage(length: 3000, extents: [Extent(blob: "a", length: 1000), Extent(blob: "b", length: 2000)])
        #expect(image.mergeStart(under: 1000) == nil)
        #expect(image.mergeStart(under: 4000) == 0)
    }
}
