/// `mod.offer`: a request offered to an FMD.
struct ModOfferEvent: Encodable {
    struct From: Encodable {
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
}

/// `mod.claimed`: to the requester, who claimed it and the room they share now.
struct ModClaimedEvent: Encodable {
    struct By: Encodable {
        let user: String
        let name: String
    }

    var type = "mod.claimed"
    let request: String
    let by: By
    let room: String
    let mode: ModRequest.Mode
}

/// `mod.taken`, `mod.expired`: a request, and nothing else.
struct ModRequestEvent: Encodable {
    let type: String
    let request: String
}

/// `mod.withdrawn`: the request is no longer on offer.
struct ModWithdrawnEvent: Encodable {
    var type = "mod.withdrawn"
    let request: String
    let reason: String
}

/// The journal record of a request's state (the latest one wins on replay).
struct ModStateRecord: Codable {
    var type = "mod.state"
    let request: ModRequest
}
