/// `mod.request`, `mod.claim`, `mod.decline` (`mod.cancel` goes straight to the service).
extension Session {
    func modRequest(_ params: Request.ModRequestParams, caller: Caller, responder: Responder) async throws(ProtocolError) {
        guard hub.policy.modRequesters.contains(caller.role) else {
            throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not raise MOD requests")
        }
        let area = params.area.trimmingCharacters(in: .whitespaces)
        guard !area.isEmpty, area.count <= ModService.maxAreaLength else {
            throw ProtocolError(.badRequest, "field 'area' must be 1 to \(ModService.maxAreaLength) characters")
        }
        guard !params.question.isEmpty else { throw ProtocolError(.badRequest, "field 'question' must not be empty") }
        guard params.question.utf8.count <= ModService.maxQuestionBytes else {
            throw ProtocolError(.tooLarge, "field 'question' is larger than \(ModService.maxQuestionBytes) bytes")
        }
        try await hub.mod.request(by: caller, area: area, question: params.question, mode: params.mode,
                                  ttl: params.ttl, responder: responder)
    }

    func modClaim(_ params: Request.ModRef, caller: Caller, responder: Responder) async throws(ProtocolError) {
        guard hub.policy.modClaimers.contains(caller.role) else {
            throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not claim MOD requests")
        }
        try await hub.mod.claim(params.request, by: caller, session: id, responder: responder)
    }

    func modDecline(_ params: Request.ModRef, caller: Caller, responder: Responder) async throws(ProtocolError) {
        guard hub.policy.modClaimers.contains(caller.role) else {
            throw ProtocolError(.forbidden, "a \(caller.role.rawValue) may not decline MOD requests")
        }
        try await hub.mod.decline(params.request, by: caller, responder: responder)
    }
}
