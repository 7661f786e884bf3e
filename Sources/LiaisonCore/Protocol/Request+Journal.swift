extension Request {
    /// Whether answering it may write the journal: in cluster mode such requests are refused with
    /// `unavailable` while the bus is out of reach, rather than left waiting for an `ok`.
    var needsJournal: Bool {
        switch self {
        case .hello, .presenceSet, .presenceWatch, .presenceUnwatch, .userPut, .userSearch, .roomList, .roomHistory,
             .typing, .callCandidate, .callSDP, .turnCredentials, .auditRead, .pushRegister, .pushUnregister, .pushList,
             .meetingList, .meetingGet, .meetingFeed:
            false
        case .roomCreate, .roomInvite, .roomLeave, .roomHold, .msgSend, .msgAck, .msgRead, .modRequest, .modClaim,
             .modDecline, .modCancel, .callInvite, .callAccept, .callReject, .callHangup, .meetingCreate, .meetingRSVP,
             .meetingUpdate, .meetingCancel, .meetingForward, .meetingNote, .callNote:
            true
        }
    }
}
