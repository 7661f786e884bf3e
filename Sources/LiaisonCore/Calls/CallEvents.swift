/// `call.ring`: to every device of the other members.
struct CallRingEvent: JSONWritable {
    struct From {
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

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("call", call)
        writer.field("room", room)
        writer.object("from") { writer in
            writer.field("user", from.user)
            writer.field("name", from.name)
            writer.field("device", from.device)
        }
        writer.field("media", media)
        writer.field("sdp", sdp)
    }
}

/// `call.accepted`: to the caller, with the answer.
struct CallAcceptedEvent: JSONWritable {
    struct By {
        let user: String
        let name: String
        let device: String
    }

    var type = "call.accepted"
    let call: String
    let by: By
    let sdp: String

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("call", call)
        writer.object("by") { writer in
            writer.field("user", by.user)
            writer.field("name", by.name)
            writer.field("device", by.device)
        }
        writer.field("sdp", sdp)
    }
}

/// `call.ended`.
struct CallEndedEvent: JSONWritable {
    var type = "call.ended"
    let call: String
    let reason: String

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("call", call)
        writer.field("reason", reason)
    }
}

/// `call.candidate`: an ICE candidate relayed from the other side.
struct CallCandidateEvent: Encodable {
    var type = "call.candidate"
    let call: String
    let candidate: JSONValue
}

/// `call.sdp`: an offer or answer relayed for renegotiation.
struct CallSDPEvent: JSONWritable {
    var type = "call.sdp"
    let call: String
    let description: Request.SessionDescription

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("call", call)
        writer.object("description") { writer in
            writer.field("type", description.type)
            writer.field("sdp", description.sdp)
        }
    }
}
