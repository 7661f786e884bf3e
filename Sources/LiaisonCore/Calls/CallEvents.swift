/// `call.ring`: to every device of the other members.
struct CallRingEvent: Encodable {
    struct From: Encodable {
        let user: String
        let name: String
        let device: String
    }

    var type = "call.ring"
    let call: String
    let room: String
    let from: From
    let media: CallState.Media
    let sdp: String
}

/// `call.accepted`: to the caller, with the answer.
struct CallAcceptedEvent: Encodable {
    struct By: Encodable {
        let user: String
        let device: String
    }

    var type = "call.accepted"
    let call: String
    let by: By
    let sdp: String
}

/// `call.ended`.
struct CallEndedEvent: Encodable {
    var type = "call.ended"
    let call: String
    let reason: String
}

/// `call.candidate`: an ICE candidate relayed from the other side.
struct CallCandidateEvent: Encodable {
    var type = "call.candidate"
    let call: String
    let candidate: JSONValue
}

/// `call.sdp`: an offer or answer relayed for renegotiation.
struct CallSDPEvent: Encodable {
    var type = "call.sdp"
    let call: String
    let description: Request.SessionDescription
}
