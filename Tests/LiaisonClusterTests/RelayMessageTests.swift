import Foundation
import Testing
@testable import LiaisonCluster

/// The binary form of what relaying nodes and the active node tell each other.
@Suite struct RelayMessageTests {
    static let messages: [RelayMessage] = [
        .opened(edge: "b", connection: 1 << 40),
        .text(edge: "node-2", connection: 7, Data(#"{"type":"hello"}"#.utf8)),
        .text(edge: "b", connection: 7, Data()),
        .binary(edge: "b", connection: 8),
        .closed(edge: "b", connection: .max),
        .progress(edge: "c", [.init(connection: 1, received: 640, backlog: 0), .init(connection: 2, received: 0, backlog: 9)]),
        .progress(edge: "c", []),
        .alive(edge: "c"),
        .frame(connections: [1, 2, 3], binary: false, Array("frame".utf8)),
        .frame(connections: [], binary: true, []),
        .close(connection: 5, code: 4409, reason: "replaced by a new connection of this device"),
    ]

    @Test(arguments: messages) func everyMessageReadsBackAsItWasWritten(_ message: RelayMessage) {
        #expect(RelayMessage(message.bytes) == message)
    }

    @Test func whatARelayingNodeSendsNamesItAndWhatTheActiveNodeSendsDoesNot() {
        #expect(Self.messages.map(\.edge) == ["b", "node-2", "b", "b", "b", "c", "c", "c", nil, nil, nil])
    }

    @Test func aFrameHeaderFollowedByItsPayloadIsTheWholeFrameMessage() {
        let payload = Array("shared bytes".utf8)
        let bytes = RelayMessage.frameHeader(connections: [4, 5], binary: false) + payload
        #expect(RelayMessage(bytes) == .frame(connections: [4, 5], binary: false, payload))
    }

    @Test func aFrameIsReadInPlaceAndOtherMessagesAreNotFrames() {
        let bytes = RelayMessage.frameHeader(connections: [9], binary: true) + Array("payload".utf8)
        bytes.withUnsafeBytes { buffer in
            let frame = RelayMessage.frame(in: buffer)
            #expect(frame?.connections == [9] && frame?.binary == true)
            #expect(frame.map { Array($0.payload) } == Array("payload".utf8))
            #expect(frame?.payload.baseAddress == buffer.baseAddress.map { $0 + bytes.count - 7 })
        }
        RelayMessage.alive(edge: "b").bytes.withUnsafeBytes { #expect(RelayMessage.frame(in: $0) == nil) }
        ([7, 0, 0, 0, 0, 9] as [UInt8]).withUnsafeBytes { buffer in
            #expect(RelayMessage.frame(in: buffer) == nil)  // says 9 recipients, has room for none
        }
    }

    @Test(arguments: [[], [0], [9], [1, 1, 65], [6, 3, 65], [5, 1, 65, 0, 0, 0, 1, 0]] as [[UInt8]])
    func bytesThatAreNoWholeMessageAreRefused(_ bytes: [UInt8]) {
        #expect(RelayMessage(bytes) == nil)
    }

    @Test func trailingBytesAfterAMessageAreRefused() {
        #expect(RelayMessage(RelayMessage.alive(edge: "b").bytes + [0]) == nil)
    }
}

/// How the audit mirror cuts a batch of records for the log.
@Suite struct AuditMirrorSplitTests {
    @Test func aBatchIsCutAtLineEndsIntoRecordsOfAtMostTheLimit() {
        let line = Array(repeating: UInt8(ascii: "a"), count: 300 * 1024) + [UInt8(ascii: "\n")]
        let chunks = JetStreamAuditMirror.split(line + line + line)
        #expect(chunks.count == 3)
        #expect(chunks.allSatisfy { $0.count <= JetStreamAuditMirror.recordBytes && $0.last == UInt8(ascii: "\n") })
        #expect(Array(chunks.joined()) == line + line + line)
    }

    @Test func smallLinesShareOneRecordAndNothingMakesNone() {
        #expect(JetStreamAuditMirror.split(Array("{}\n{}\n".utf8)) == [Array("{}\n{}\n".utf8)])
        #expect(JetStreamAuditMirror.split([]).isEmpty)
    }
}
