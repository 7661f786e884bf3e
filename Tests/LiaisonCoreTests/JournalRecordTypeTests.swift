import Foundation
import Testing
@testable import LiaisonCore

/// The look at a record's bytes every service takes before decoding it at replay.
@Suite struct JournalRecordTypeTests {
    let record = Data(#"{"room":"r1","type":"meeting.rsvp","user":"ttype"}"#.utf8)

    @Test func aRecordMayBeOfTheTypeItsBytesName() {
        #expect(JournalRecordType.may(record, be: "meeting.rsvp"))
        #expect(JournalRecordType.may(record, startWith: "meeting."))
        #expect(JournalRecordType.may(Data(#"{"type":"msg"}"#.utf8), be: "msg"))
    }

    @Test func aRecordIsCertainlyNotOfATypeItsBytesDoNotName() {
        #expect(!JournalRecordType.may(record, be: "meeting"))
        #expect(!JournalRecordType.may(record, be: "meeting.rsvp.x"))
        #expect(!JournalRecordType.may(record, startWith: "mod."))
        #expect(!JournalRecordType.may(Data(#"{"type":"ms"#.utf8), be: "msg"))
        #expect(!JournalRecordType.may(Data(), be: "msg"))
    }
}
