import Foundation
import Testing
@testable import LiaisonCore

/// The meeting state machine, input by input, and its iCalendar text.
@Suite struct MeetingTests {
    let now: Millis = 1_800_000_000_000
    let hour: Millis = 3_600_000

    func person(_ user: String, _ role: Role = .msl) -> Meeting.Attendee {
        Meeting.Attendee(user: user, name: user.capitalized, role: role, rsvp: .pending, invitedBy: "org", invited: false)
    }

    func meeting(forwardable: Bool = false, tz: String = "Europe/Paris") throws -> Meeting {
        try Meeting(id: "g1", tenant: "t", room: "r1", organizer: person("org", .fmd), tz: tz, title: "Review",
                    agenda: nil, startsAt: now + 2 * hour, durationMin: 60, forwardable: forwardable,
                    invitees: [person("ana", .hcp), person("ben")], now: now)
    }

    @Test func aNewMeetingIsScheduledWithTheOrganizerAcceptedFirst() throws {
        let m = try meeting()
        #expect(m.status == .scheduled)
        #expect(m.attendees.map(\.user) == ["org", "ana", "ben"])
        #expect(m.attendees.map(\.rsvp) == [.accepted, .pending, .pending])
    }

    @Test func aMeetingInThePastOrLongerThanADayIsRefused() {
        #expect(throws: ProtocolError(.badRequest, "field 'starts_at' must be in the future")) {
            try Meeting(id: "g", tenant: "t", room: "r", organizer: person("org"), tz: "UTC", title: "x", agenda: nil,
                        startsAt: now - 1, durationMin: 30, forwardable: false, invitees: [], now: now)
        }
        #expect(throws: ProtocolError(.badRequest, "field 'duration_min' must be 1 to 1440")) {
            try Meeting(id: "g", tenant: "t", room: "r", organizer: person("org"), tz: "UTC", title: "x", agenda: nil,
                        startsAt: now + hour, durationMin: 1441, forwardable: false, invitees: [], now: now)
        }
    }

    @Test func anRSVPChangesOnlyThatAttendeeAndRepeatingItChangesNothing() throws {
        var m = try meeting()
        #expect(try m.rsvp("ana", .accepted))
        #expect(try !m.rsvp("ana", .accepted))
        #expect(m.attendee("ana")?.rsvp == .accepted && m.attendee("ben")?.rsvp == .pending)
        #expect(throws: ProtocolError(.notMember, "you are not invited to meeting g1")) { try m.rsvp("zed", .declined) }
    }

    @Test func aNewTimeResetsAnswersButATitleDoesNot() throws {
        var m = try meeting()
        _ = try m.rsvp("ana", .accepted)
        #expect(try !m.update(by: "org", title: "New title", agenda: nil, startsAt: nil, durationMin: nil, now: now))
        #expect(m.attendee("ana")?.rsvp == .accepted && m.title == "New title")
        m.reminded = true
        #expect(try m.update(by: "org", title: nil, agenda: nil, startsAt: now + 3 * hour, durationMin: nil, now: now))
        #expect(m.attendee("ana")?.rsvp == .pending && m.attendee("org")?.rsvp == .accepted && !m.reminded)
        #expect(throws: ProtocolError(.forbidden, "only the organizer may change meeting g1")) {
            try m.update(by: "ana", title: "x", agenda: nil, startsAt: nil, durationMin: nil, now: now)
        }
    }

    @Test func onlyTheOrganizerCancelsAndACancelledMeetingRefusesAnswers() throws {
        var m = try meeting()
        #expect(throws: ProtocolError(.forbidden, "only the organizer may cancel meeting g1")) { try m.cancel(by: "ben") }
        try m.cancel(by: "org")
        #expect(m.status == .cancelled)
        #expect(throws: ProtocolError(.notFound, "meeting g1 was cancelled")) { try m.rsvp("ana", .accepted) }
        let changed1 = m.windowClosed(now: m.windowClosesAt)
        #expect(!changed1)
    }

    @Test func forwardingFollowsTheMeetingsRules() throws {
        var closed = try meeting(forwardable: false)
        #expect(throws: ProtocolError(.forbidden, "meeting g1 may be forwarded only by its organizer")) {
            try closed.forward(by: "ben", role: .msl, to: person("cy"))
        }
        #expect(try closed.forward(by: "org", role: .fmd, to: person("cy")))
        #expect(try !closed.forward(by: "org", role: .fmd, to: person("cy")))
        var open = try meeting(forwardable: true)
        #expect(throws: ProtocolError(.forbidden, "an hcp may not forward a meeting to another hcp")) {
            try open.forward(by: "ana", role: .hcp, to: person("dee", .hcp))
        }
        #expect(try open.forward(by: "ana", role: .hcp, to: person("eve", .msl)))
        #expect(open.attendee("eve")?.invitedBy == "ana")
        #expect(throws: ProtocolError(.notMember, "you are not invited to meeting g1")) {
            try open.forward(by: "zed", role: .msl, to: person("fay"))
        }
    }

    @Test func aCallInTheWindowMakesItInProgressThenHeldWithAttendance() throws {
        var m = try meeting()
        let changed2 = m.callConnected("early", parties: ["org", "ana"], at: m.startsAt - 16 * 60_000)
        #expect(!changed2)
        let changed3 = m.callConnected("c1", parties: ["org", "ana"], at: m.startsAt - 5 * 60_000)
        #expect(changed3)
        #expect(m.status == .inProgress)
        let changed4 = m.callEnded("c1", at: m.startsAt + 30 * 60_000)
        #expect(changed4)
        #expect(m.status == .held)
        #expect(m.attendance.map(\.user) == ["org", "ana"] && m.attendance.allSatisfy { $0.leftAt == m.startsAt + 30 * 60_000 })
        let changed5 = m.windowClosed(now: m.windowClosesAt)
        #expect(!changed5)
    }

    @Test func noCallByTheWindowsCloseMakesItMissed() throws {
        var m = try meeting()
        let changed6 = m.windowClosed(now: m.windowClosesAt - 1)
        #expect(!changed6)
        let changed7 = m.windowClosed(now: m.windowClosesAt)
        #expect(changed7)
        #expect(m.status == .missed)
        let changed8 = m.callConnected("late", parties: ["org", "ana"], at: m.windowClosesAt)
        #expect(!changed8)
        #expect(throws: ProtocolError(.expired, "meeting g1 is over")) { try m.rsvp("ana", .declined) }
    }

    @Test func aCallStillGoingWhenTheWindowClosesMakesItHeld() throws {
        var m = try meeting()
        _ = m.callConnected("c1", parties: ["org", "ben"], at: m.startsAt)
        let changed9 = m.windowClosed(now: m.windowClosesAt)
        #expect(changed9)
        #expect(m.status == .held)
    }

    @Test func notesAreForAttendeesWhoAreNotHCPs() throws {
        var m = try meeting()
        let note = try m.note(by: "ben", role: .msl, kind: .followUp, text: "send the paper", id: "n1", now: now)
        #expect(m.notes == [note] && note.kind == .followUp)
        #expect(throws: ProtocolError(.forbidden, "an hcp may not write meeting notes")) {
            try m.note(by: "ana", role: .hcp, kind: .notes, text: "x", id: "n2", now: now)
        }
        #expect(throws: ProtocolError(.notMember, "you are not invited to meeting g1")) {
            try m.note(by: "zed", role: .msl, kind: .notes, text: "x", id: "n3", now: now)
        }
    }

    // MARK: iCalendar

    @Test func theFeedHoldsTheLocalStartInTheOrganizersZoneWithItsTimezone() throws {
        // 2026-12-01 15:00 UTC is 10:00 in New York (EST, -05:00).
        let start: Millis = 1_796_137_200_000
        let m = try Meeting(id: "g9", tenant: "t", room: "r", organizer: person("org"), tz: "America/New_York",
                            title: "Q4, review; plan", agenda: "line one\nline two", startsAt: start, durationMin: 45,
                            forwardable: false, invitees: [person("ana", .hcp)], now: start - hour)
        let ics = ICalendar.render([m], for: "ana")
        #expect(ics.hasSuffix("END:VCALENDAR\r\n"))
        #expect(ics.contains("\r\nDTSTART;TZID=America/New_York:20261201T100000\r\n"))
        #expect(ics.contains("\r\nDTEND;TZID=America/New_York:20261201T104500\r\n"))
        #expect(ics.contains("\r\nSUMMARY:Q4\\, review\\; plan\r\n"))
        #expect(ics.contains("\r\nDESCRIPTION:line one\\nline two\r\n"))
        #expect(ics.contains("BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"))
        #expect(ics.contains("TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500"))
        #expect(ics.contains("PARTSTAT=NEEDS-ACTION"))
    }

    @Test func aZoneWithoutDaylightSavingGetsOneStandardObservance() {
        let lines = ICalendar.timezone(TimeZone(identifier: "Asia/Kolkata")!, from: Date(), to: Date())
        #expect(lines.filter { $0 == "BEGIN:STANDARD" }.count == 1)
        #expect(lines.contains("TZOFFSETTO:+0530"))
        #expect(!lines.contains("BEGIN:DAYLIGHT"))
    }

    @Test func longLinesFoldAt75OctetsWithoutSplittingACharacter() {
        let folded = ICalendar.fold("SUMMARY:" + String(repeating: "é", count: 60))
        let lines = folded.components(separatedBy: "\r\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.utf8.count <= 75 })
        #expect(lines[1].hasPrefix(" "))
    }
}
