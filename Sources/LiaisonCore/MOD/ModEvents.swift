/// `mod.offer`: a request offered to an FMD.
struct ModOfferEvent: JSONWritable {
    struct From {
        let user: String
        let name: String
        let role: Role
    }

    var type = "mod.offer"
    let request: String
    let area: String
    let question: String
    let mode: ModRequest.Mode
    let from: From
    let expiresAt: Millis

    enum CodingKeys: String, CodingKey {
        case type, request, area, question, mode, from
        case expiresAt = "expires_at"
    }

    init(_ request: ModRequest) {
        self.request = request.id
        area = request.area
        question = request.question
        mode = request.mode
        from = From(user: request.requester, name: request.requesterName, role: request.requesterRole)
        expiresAt = request.expiresAt
    }

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("request", request)
        writer.field("area", area)
        writer.field("question", question)
        writer.field("mode", mode)
        writer.object("from") { writer in
            writer.field("user", from.user)
            writer.field("name", from.name)
            writer.field("role", from.role)
        }
        writer.field("expires_at", expiresAt)
    }
}

/// `mod.claimed`: to the requester, who claimed it and the room they share now.
struct ModClaimedEvent: JSONWritable {
    struct By {
        let user: String
        let name: String
    }

    var type = "mod.claimed"
    let request: String
    let by: By
    let room: String
    let mode: ModRequest.Mode

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("request", request)
        writer.object("by") { writer in
            writer.field("user", by.user)
            writer.field("name", by.name)
        }
        writer.field("room", room)
        writer.field("mode", mode)
    }
}

/// `mod.taken`, `mod.expired`: a request, and nothing else.
struct ModRequestEvent: JSONWritable {
    let type: String
    let request: String

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("request", request)
    }
}

/// `mod.withdrawn`: the request is no longer on offer.
struct ModWithdrawnEvent: JSONWritable {
    var type = "mod.withdrawn"
    let request: String
    let reason: String

    func writeFields(to writer: inout JSONWriter) {
        writer.field("type", type)
        writer.field("request", request)
        writer.field("reason", reason)
    }
}

/// The journal record of a request's state (the latest one wins on replay).
struct ModStateRecord: Codable {
    var type = "mod.state"
    let request: ModRequest
}
