import Testing
@testable import LiaisonCore

/// The call state machine (ringing → active → ended): who wins an answer race, who is told what when a
/// call ends, which devices relay to which, and how a party's grace period works. No I/O, no clock.
@Suite struct CallStateTests {
    static let createdAt: Millis = 1_000
    static let answeredAt: Millis = 5_000

    // Alice calls from her phone; Bob rings on his phone and laptop, Carol (a group member) on her tablet.
    static let alice = CallParty(user: "alice", device: "phone", session: SessionID(raw: 1))
    static let bobPhone = CallParty(user: "bob", device: "phone", session: SessionID(raw: 2))
    static let bobLaptop = CallParty(user: "bob", device: "laptop", session: SessionID(raw: 3))
    static let carolTablet = CallParty(user: "carol", device: "tablet", session: SessionID(raw: 4))
    /// A session that is not part of the call.
    static let stranger = SessionID(raw: 99)

    static let aliceKey = "alice\u{0}phone"
    static let bobPhoneKey = "bob\u{0}phone"

    func newCall() -> CallState {
        CallState(id: "c1", room: "r1", tenant: "t1", media: .audio, caller: Self.alice, createdAt: Self.createdAt)
    }

    /// A call ringing on `devices` (default: both of Bob's devices).
    func ringingCall(_ devices: [CallParty] = [CallStateTests.bobPhone, CallStateTests.bobLaptop]) -> CallState {
        var call = newCall()
        for device in devices { #expect(call.ring(device) == true) }
        return call
    }

    /// A call Bob answered on his phone.
    func answeredCall() -> CallState {
        var call = ringingCall()
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt) == .won(answeredElsewhere: [Self.bobLaptop]))
        return call
    }

    // MARK: A new call

    @Test func aNewCallRingsNobodyAndHasOnlyTheCaller() {
        let call = newCall()
        #expect(call.phase == .ringing)
        #expect(call.isRinging)
        #expect(!call.isOver)
        #expect(call.ringing.isEmpty)
        #expect(call.callee == nil)
        #expect(call.answeredAt == nil)
        #expect(call.parties == [Self.alice])
    }

    // MARK: Ringing

    @Test func ringAddsEachCalleeDeviceOnce() {
        var call = newCall()
        #expect(call.ring(Self.bobPhone) == true)
        #expect(call.ring(Self.bobLaptop) == true)
        #expect(call.ring(Self.carolTablet) == true)
        #expect(call.ringing == [Self.bobPhone, Self.bobLaptop, Self.carolTablet])
        #expect(call.parties == [Self.alice, Self.bobPhone, Self.bobLaptop, Self.carolTablet])
    }

    @Test func ringRefusesTheCallersOwnDevice() {
        var call = newCall()
        #expect(call.ring(Self.alice) == false)
        #expect(call.ringing.isEmpty)
    }

    @Test func ringRefusesAnotherDeviceOfTheCallersOwnUser() {
        var call = newCall()
        #expect(call.ring(CallParty(user: "alice", device: "laptop", session: SessionID(raw: 10))) == false)
        #expect(call.ringing.isEmpty)
    }

    @Test func ringRefusesADeviceAlreadyRingingEvenOnANewSession() {
        var call = ringingCall([Self.bobPhone])
        #expect(call.ring(Self.bobPhone) == false)
        #expect(call.ring(CallParty(user: "bob", device: "phone", session: SessionID(raw: 11))) == false)
        #expect(call.ringing == [Self.bobPhone])
    }

    @Test func ringAcceptsTheSameDeviceNameOfAnotherUser() {
        var call = ringingCall([Self.bobPhone])
        #expect(call.ring(CallParty(user: "carol", device: "phone", session: SessionID(raw: 12))) == true)
        #expect(call.ringing.count == 2)
    }

    @Test func ringRefusesOnceTheCallIsAnswered() {
        var call = answeredCall()
        #expect(call.ring(Self.carolTablet) == false)
        #expect(call.ringing.isEmpty)
    }

    @Test func ringRefusesOnceTheCallIsOver() {
        var call = ringingCall()
        _ = call.ringTimeout()
        #expect(call.ring(Self.carolTablet) == false)
        #expect(call.ringing.isEmpty)
    }

    // MARK: Accept races between devices

    @Test func firstAcceptWinsAndEveryOtherRingingDeviceIsAnsweredElsewhere() {
        var call = ringingCall([Self.bobPhone, Self.bobLaptop, Self.carolTablet])
        #expect(call.accept(by: Self.bobLaptop, now: Self.answeredAt)
            == .won(answeredElsewhere: [Self.bobPhone, Self.carolTablet]))
        #expect(call.phase == .active(since: Self.answeredAt))
        #expect(call.callee == Self.bobLaptop)
        #expect(call.ringing.isEmpty)
        #expect(call.answeredAt == Self.answeredAt)
        #expect(call.parties == [Self.alice, Self.bobLaptop])
    }

    @Test func secondAcceptIsAlreadyAnsweredAndKeepsTheFirstWinner() {
        var call = answeredCall()
        #expect(call.accept(by: Self.bobLaptop, now: Self.answeredAt + 1) == .alreadyAnswered)
        #expect(call.callee == Self.bobPhone)
        #expect(call.phase == .active(since: Self.answeredAt))
        #expect(call.answeredAt == Self.answeredAt)
    }

    @Test func anotherMembersLateAcceptIsAlreadyAnswered() {
        var call = ringingCall([Self.bobPhone, Self.carolTablet])
        #expect(call.accept(by: Self.carolTablet, now: Self.answeredAt) == .won(answeredElsewhere: [Self.bobPhone]))
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt) == .alreadyAnswered)
        #expect(call.callee == Self.carolTablet)
    }

    @Test func theWinnerAcceptingAgainIsAlreadyAnswered() {
        var call = answeredCall()
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt + 1) == .alreadyAnswered)
        #expect(call.callee == Self.bobPhone)
    }

    @Test func aSingleRingingDeviceWinsWithNobodyAnsweredElsewhere() {
        var call = ringingCall([Self.bobPhone])
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt) == .won(answeredElsewhere: []))
    }

    // MARK: Accept vs cancel

    @Test func hangupByTheCallerBeforeTheAnswerIsCancelledForEveryRingingDevice() {
        var call = ringingCall()
        #expect(call.hangup(by: Self.alice.session) == .init(reason: .cancelled, notify: [Self.bobPhone, Self.bobLaptop]))
        #expect(call.phase == .ended(.cancelled))
        #expect(call.isOver)
        #expect(call.ringing.isEmpty)
    }

    @Test func acceptAfterCancelIsOver() {
        var call = ringingCall()
        _ = call.hangup(by: Self.alice.session)
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt) == .over)
        #expect(call.callee == nil)
        #expect(call.phase == .ended(.cancelled))
        #expect(call.answeredAt == nil)
    }

    @Test func hangupByTheCallerAfterTheAnswerIsAHangupForTheCallee() {
        var call = answeredCall()
        #expect(call.hangup(by: Self.alice.session) == .init(reason: .hangup, notify: [Self.bobPhone]))
        #expect(call.phase == .ended(.hangup))
    }

    // MARK: Accept vs timeout

    @Test func ringTimeoutEndsTheCallForTheCallerAndEveryRingingDevice() {
        var call = ringingCall()
        #expect(call.ringTimeout() == .init(reason: .timeout, notify: [Self.alice, Self.bobPhone, Self.bobLaptop]))
        #expect(call.phase == .ended(.timeout))
        #expect(call.ringing.isEmpty)
    }

    @Test func acceptAfterTimeoutIsOver() {
        var call = ringingCall()
        _ = call.ringTimeout()
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt) == .over)
        #expect(call.callee == nil)
        #expect(call.phase == .ended(.timeout))
    }

    @Test func ringTimeoutAfterAcceptDoesNothing() {
        var call = answeredCall()
        #expect(call.ringTimeout() == nil)
        #expect(call.phase == .active(since: Self.answeredAt))
        #expect(call.callee == Self.bobPhone)
    }

    @Test func ringTimeoutTwiceEndsOnce() {
        var call = ringingCall()
        #expect(call.ringTimeout() != nil)
        #expect(call.ringTimeout() == nil)
    }

    // MARK: Reject

    @Test func rejectByOneOfTwoRingingDevicesEndsRingingEverywhere() {
        var call = ringingCall()
        #expect(call.reject(by: Self.bobLaptop.session) == .init(reason: .rejected, notify: [Self.alice, Self.bobPhone]))
        #expect(call.phase == .ended(.rejected))
        #expect(call.ringing.isEmpty)
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt) == .over)
    }

    @Test func rejectByASessionThatIsNotRingingDoesNothing() {
        var call = ringingCall()
        #expect(call.reject(by: Self.stranger) == nil)
        #expect(call.reject(by: Self.alice.session) == nil)
        #expect(call.isRinging)
        #expect(call.ringing == [Self.bobPhone, Self.bobLaptop])
    }

    @Test func rejectAfterTheAnswerDoesNothing() {
        var call = answeredCall()
        #expect(call.reject(by: Self.bobLaptop.session) == nil)
        #expect(call.reject(by: Self.bobPhone.session) == nil)
        #expect(call.phase == .active(since: Self.answeredAt))
    }

    @Test func hangupByARingingDeviceIsAReject() {
        var call = ringingCall()
        #expect(call.hangup(by: Self.bobPhone.session) == .init(reason: .rejected, notify: [Self.alice, Self.bobLaptop]))
        #expect(call.phase == .ended(.rejected))
    }

    // MARK: Hangup after the answer

    @Test func hangupByTheCalleeAfterTheAnswerNotifiesTheCaller() {
        var call = answeredCall()
        #expect(call.hangup(by: Self.bobPhone.session) == .init(reason: .hangup, notify: [Self.alice]))
        #expect(call.phase == .ended(.hangup))
        #expect(call.answeredAt == Self.answeredAt)
    }

    @Test func hangupAfterTheAnswerByADeviceOutsideTheCallDoesNothing() {
        var call = answeredCall()
        #expect(call.hangup(by: Self.bobLaptop.session) == nil)
        #expect(call.hangup(by: Self.stranger) == nil)
        #expect(call.phase == .active(since: Self.answeredAt))
    }

    @Test func hangupAfterTheEndDoesNothing() {
        var call = answeredCall()
        _ = call.hangup(by: Self.alice.session)
        #expect(call.hangup(by: Self.bobPhone.session) == nil)
        #expect(call.hangup(by: Self.alice.session) == nil)
        #expect(call.phase == .ended(.hangup))
    }

    // MARK: Busy

    @Test func busyEndsARingingCallForTheCallerOnlySinceTheCalleesNeverHeardOfIt() {
        var call = ringingCall()
        #expect(call.busy() == .init(reason: .busy, notify: [Self.alice]))
        #expect(call.phase == .ended(.busy))
    }

    @Test func busyAfterTheAnswerDoesNothing() {
        var call = answeredCall()
        #expect(call.busy() == nil)
        #expect(call.phase == .active(since: Self.answeredAt))
    }

    // MARK: Devices leaving

    @Test func disconnectOfARingingDeviceJustStopsItRinging() {
        var call = ringingCall()
        #expect(call.departed(Self.bobLaptop.session) == .stoppedRinging)
        #expect(call.isRinging)
        #expect(call.ringing == [Self.bobPhone])
        #expect(call.candidateTargets(from: Self.alice.session) == [Self.bobPhone.session])
        #expect(call.accept(by: Self.bobPhone, now: Self.answeredAt) == .won(answeredElsewhere: []))
    }

    @Test func disconnectOfTheLastRingingDeviceLeavesTheCallRingingUntilTheTimeout() {
        var call = ringingCall([Self.bobPhone])
        #expect(call.departed(Self.bobPhone.session) == .stoppedRinging)
        #expect(call.isRinging)
        #expect(call.ringTimeout() == .init(reason: .timeout, notify: [Self.alice]))
    }

    @Test func disconnectOfASessionOutsideTheCallIsUnaffected() {
        var call = answeredCall()
        #expect(call.departed(Self.stranger) == .unaffected)
        #expect(call.departed(Self.bobLaptop.session) == .unaffected)
        #expect(call.phase == .active(since: Self.answeredAt))
    }

    @Test func disconnectAfterTheEndIsUnaffected() {
        var call = answeredCall()
        _ = call.hangup(by: Self.alice.session)
        #expect(call.departed(Self.bobPhone.session) == .unaffected)
    }

    @Test func disconnectOfAPartyWithinGraceThenReturnedKeepsTheCall() {
        var call = answeredCall()
        let departure = call.departed(Self.bobPhone.session)
        guard case .graceStarted(let device, let generation) = departure else {
            Issue.record("expected graceStarted, got \(departure)")
            return
        }
        #expect(device == Self.bobPhoneKey)
        #expect(call.phase == .active(since: Self.answeredAt))

        let newSession = SessionID(raw: 20)
        #expect(call.returned(user: "bob", device: "phone", session: newSession) == true)
        #expect(call.graceExpired(device: device, generation: generation) == nil)
        #expect(call.phase == .active(since: Self.answeredAt))
        #expect(call.callee?.session == newSession)
        #expect(call.other(than: Self.alice.session) == newSession)
        #expect(call.other(than: newSession) == Self.alice.session)
        #expect(call.other(than: Self.bobPhone.session) == nil)
        #expect(call.hangup(by: newSession) == .init(reason: .hangup, notify: [Self.alice]))
    }

    @Test func theCallerReturningWithinGraceKeepsTheCallOnItsNewSession() {
        var call = answeredCall()
        guard case .graceStarted(let device, let generation) = call.departed(Self.alice.session) else {
            Issue.record("expected graceStarted")
            return
        }
        #expect(device == Self.aliceKey)
        let newSession = SessionID(raw: 21)
        #expect(call.returned(user: "alice", device: "phone", session: newSession) == true)
        #expect(call.graceExpired(device: device, generation: generation) == nil)
        #expect(call.caller.session == newSession)
        #expect(call.candidateTargets(from: Self.bobPhone.session) == [newSession])
        #expect(call.candidateTargets(from: newSession) == [Self.bobPhone.session])
    }

    @Test func disconnectOfAPartyBeyondGraceEndsTheCallDisconnectedForTheOtherSide() {
        var call = answeredCall()
        guard case .graceStarted(let device, let generation) = call.departed(Self.bobPhone.session) else {
            Issue.record("expected graceStarted")
            return
        }
        #expect(call.graceExpired(device: device, generation: generation) == .init(reason: .disconnected, notify: [Self.alice]))
        #expect(call.phase == .ended(.disconnected))
        #expect(call.returned(user: "bob", device: "phone", session: SessionID(raw: 22)) == false)
    }

    @Test func theCallerGoneBeyondGraceWhileRingingEndsItDisconnectedForTheRingingDevices() {
        var call = ringingCall()
        guard case .graceStarted(let device, let generation) = call.departed(Self.alice.session) else {
            Issue.record("expected graceStarted")
            return
        }
        #expect(call.isRinging)
        #expect(call.graceExpired(device: device, generation: generation)
            == .init(reason: .disconnected, notify: [Self.bobPhone, Self.bobLaptop]))
    }

    @Test func aStaleGraceGenerationDoesNothingAfterASecondDeparture() {
        var call = answeredCall()
        guard case .graceStarted(let device, let first) = call.departed(Self.bobPhone.session) else {
            Issue.record("expected graceStarted")
            return
        }
        let again = SessionID(raw: 23)
        #expect(call.returned(user: "bob", device: "phone", session: again) == true)
        guard case .graceStarted(_, let second) = call.departed(again) else {
            Issue.record("expected graceStarted")
            return
        }
        #expect(second != first)
        #expect(call.graceExpired(device: device, generation: first) == nil)
        #expect(call.phase == .active(since: Self.answeredAt))
        #expect(call.graceExpired(device: device, generation: second) == .init(reason: .disconnected, notify: [Self.alice]))
    }

    @Test func graceExpiredForADeviceThatNeverLeftDoesNothing() {
        var call = answeredCall()
        #expect(call.graceExpired(device: Self.bobPhoneKey, generation: 1) == nil)
        #expect(call.phase == .active(since: Self.answeredAt))
    }

    @Test func aConnectionReplacingAPartysDeviceTakesOverItsPlace() {
        var call = answeredCall()
        #expect(call.returned(user: "bob", device: "phone", session: SessionID(raw: 24)) == true)
        #expect(call.callee?.session == SessionID(raw: 24))
        #expect(call.departed(Self.bobPhone.session) == .unaffected)
    }

    @Test func returnedForADeviceWithNoPlaceInTheCallIsFalse() {
        var call = answeredCall()
        #expect(call.returned(user: "bob", device: "laptop", session: SessionID(raw: 25)) == false)
        #expect(call.callee?.session == Self.bobPhone.session)
    }

    @Test func oneAwayPartyReturningDoesNotCancelTheOthersGrace() {
        var call = answeredCall()
        guard case .graceStarted(let aliceDevice, let aliceGeneration) = call.departed(Self.alice.session),
              case .graceStarted = call.departed(Self.bobPhone.session)
        else {
            Issue.record("expected graceStarted twice")
            return
        }
        #expect(call.returned(user: "bob", device: "phone", session: SessionID(raw: 26)) == true)
        #expect(call.graceExpired(device: aliceDevice, generation: aliceGeneration)
            == .init(reason: .disconnected, notify: [CallParty(user: "bob", device: "phone", session: SessionID(raw: 26))]))
    }

    // MARK: Relaying

    @Test func beforeTheAnswerTheCallersCandidatesGoToEveryRingingDevice() {
        let call = ringingCall([Self.bobPhone, Self.bobLaptop, Self.carolTablet])
        #expect(call.candidateTargets(from: Self.alice.session)
            == [Self.bobPhone.session, Self.bobLaptop.session, Self.carolTablet.session])
    }

    @Test func beforeTheAnswerARingingDevicesCandidatesGoToTheCaller() {
        let call = ringingCall()
        #expect(call.candidateTargets(from: Self.bobLaptop.session) == [Self.alice.session])
    }

    @Test func beforeTheAnswerASessionOutsideTheCallHasNoCandidateTargets() {
        let call = ringingCall()
        #expect(call.candidateTargets(from: Self.stranger) == nil)
    }

    @Test func afterTheAnswerCandidatesGoOnlyBetweenTheTwoDevices() {
        let call = answeredCall()
        #expect(call.candidateTargets(from: Self.alice.session) == [Self.bobPhone.session])
        #expect(call.candidateTargets(from: Self.bobPhone.session) == [Self.alice.session])
        #expect(call.candidateTargets(from: Self.bobLaptop.session) == nil)
        #expect(call.candidateTargets(from: Self.stranger) == nil)
    }

    @Test func afterTheEndThereAreNoCandidateTargets() {
        var call = answeredCall()
        _ = call.hangup(by: Self.bobPhone.session)
        #expect(call.candidateTargets(from: Self.alice.session) == nil)
        #expect(call.candidateTargets(from: Self.bobPhone.session) == nil)
    }

    @Test func otherThanIsNilWhileRinging() {
        let call = ringingCall()
        #expect(call.other(than: Self.alice.session) == nil)
        #expect(call.other(than: Self.bobPhone.session) == nil)
    }

    @Test func otherThanGivesTheOtherDeviceOnlyWhileActive() {
        var call = answeredCall()
        #expect(call.other(than: Self.alice.session) == Self.bobPhone.session)
        #expect(call.other(than: Self.bobPhone.session) == Self.alice.session)
        #expect(call.other(than: Self.bobLaptop.session) == nil)
        #expect(call.other(than: Self.stranger) == nil)
        _ = call.hangup(by: Self.alice.session)
        #expect(call.other(than: Self.alice.session) == nil)
        #expect(call.other(than: Self.bobPhone.session) == nil)
    }

    // MARK: The system message a call leaves

    @Test func callRecordTextDescribesMissedDeclinedBusyAndAnsweredCalls() {
        #expect(CallRecordText.describe(media: .audio, caller: "Alice", callee: nil, reason: .timeout, durationMillis: nil)
            == "Missed audio call from Alice")
        #expect(CallRecordText.describe(media: .video, caller: "Alice", callee: nil, reason: .cancelled, durationMillis: nil)
            == "Missed video call from Alice")
        #expect(CallRecordText.describe(media: .audio, caller: "Alice", callee: nil, reason: .rejected, durationMillis: nil)
            == "Audio call from Alice was declined")
        #expect(CallRecordText.describe(media: .audio, caller: "Alice", callee: nil, reason: .busy, durationMillis: nil)
            == "Missed audio call from Alice (busy)")
        #expect(CallRecordText.describe(media: .video, caller: "Alice", callee: "Bob", reason: .hangup, durationMillis: 3_400)
            == "Video call from Alice to Bob ended after 3s")
        #expect(CallRecordText.format(125_000) == "2m 5s")
        #expect(CallRecordText.format(3_723_000) == "1h 2m 3s")
    }
}
