import Foundation
import LiaisonCore
import Logging
import Synchronization

/// `GET /v1/admin/export?…`: an admin's interaction record of their own tenant, streamed as JSONL.
///
/// The request names filters as query parameters (`user`, `room`, `since`, `until`, `bodies`, and
/// `tenant`, which may only be the admin's own) and carries `Authorization: Bearer TOKEN`. The token is
/// verified, then the export runs on a thread of its own (it reads files and waits for the client),
/// writing into the response as it goes. At most `maxRunning` exports run at once.
final class AdminExportEndpoint: Sendable {
    static let path = "/v1/admin/export"
    static let parameters: Set<String> = ["tenant", "user", "room", "since", "until", "bodies", "format"]
    static let maxRunning = 2

    private let hub: Hub
    private let running = Atomic<Int>(0)
    private let logger = Logger(label: "liaison.export")

    init(hub: Hub) {
        self.hub = hub
    }

    /// The filters a request asks for (the tenant comes from the token).
    struct Filters: Equatable {
        var tenant: String?
        var user: String?
        var room: String?
        var since: Millis?
        var until: Millis?
        var bodies: ExportQuery.Bodies = .include
    }

    /// A refusal: status, error code, message.
    struct Problem: Error, Equatable {
        let status: UInt32
        let error: String
        let message: String

        static func badRequest(_ message: String) -> Problem { Problem(status: 400, error: "bad_request", message: message) }
        static func unauthorized(_ message: String) -> Problem {
            Problem(status: 401, error: "unauthorized", message: message)
        }
        static func forbidden(_ message: String) -> Problem { Problem(status: 403, error: "forbidden", message: message) }
        static func internalError(_ message: String) -> Problem { Problem(status: 500, error: "internal", message: message) }
    }

    private static let contentType = "application/x-ndjson; charset=utf-8"

    /// Answers the request on `stream`: at once for a bad request, after checking the token for the rest.
    func start(arguments: [String: String], authorization: String?, stream: HTTPStream) {
        let filters: Filters
        do {
            filters = try Self.filters(arguments)
        } catch {
            return refuse(error, on: stream)
        }
        guard let token = authorization.flatMap(Self.bearerToken) else {
            return refuse(Problem.unauthorized("an admin's token is required: Authorization: Bearer TOKEN"), on: stream)
        }
        Task { [self] in
            do {
                let admin = try await authorize(token, tenant: filters.tenant)
                guard running.wrappingAdd(1, ordering: .relaxed).newValue <= Self.maxRunning else {
                    running.wrappingSubtract(1, ordering: .relaxed)
                    throw Problem(status: 503, error: "unavailable",
                                  message: "\(Self.maxRunning) exports are running: try again later")
                }
                let query = ExportQuery(tenant: admin.tenant, user: filters.user, room: filters.room,
                                        since: filters.since, until: filters.until, bodies: filters.bodies)
                await hub.prepareExport()
                let thread = Thread { [self] in
                    run(query, admin: admin, stream: stream)
                    running.wrappingSubtract(1, ordering: .relaxed)
                }
                thread.name = "liaison-export"
                thread.start()
            } catch {
                refuse(error, on: stream)
            }
        }
    }

    /// The admin `token` names, if they may export `tenant` (nil: their own). A valid token that may not
    /// is audited as a refused export.
    private func authorize(_ token: String, tenant: String?) async throws(Problem) -> UserRecord {
        let user: UserRecord
        do {
            user = try await hub.verifier.verify(token)
        } catch {
            throw Problem.unauthorized("the token was refused: \(error.message)")
        }
        let problem: Problem? =
            if user.role != .admin { Problem.forbidden("only an admin may export the interaction record") }
            else if let tenant, tenant != user.tenant { Problem.forbidden("an admin may export only their own tenant") }
            else { nil }
        guard let problem else { return user }
        var detail: [String: String] = [:]
        detail["tenant"] = tenant
        hub.audit.record(AuditEvent("interaction.export", tenant: user.tenant, actor: user.user, refused: .forbidden,
                                    detail: detail))
        throw problem
    }

    private func run(_ query: ExportQuery, admin: UserRecord, stream: HTTPStream) {
        var started = false
        do {
            let summary = try hub.exportInteractions(query, by: admin) { bytes in
                if !started {
                    stream.begin(status: 200, contentType: Self.contentType)
                    started = true
                }
                try stream.write(bytes)
            }
            if !started { stream.begin(status: 200, contentType: Self.contentType) }
            stream.finish()
            logger.info("export for \(admin.user)@\(admin.tenant): \(summary.rows) rows")
        } catch ExportError.brokenChain(let line, let reason) where !started {
            let message = "\(ExportError.brokenChain(line: line, reason: reason))"
            refuse(Problem(status: 409, error: "audit_chain_broken", message: message), on: stream)
        } catch is HTTPStream.Closed {
            stream.finish(.aborted)
            logger.info("export for \(admin.user)@\(admin.tenant): the client went away or stopped reading")
        } catch {
            logger.error("export for \(admin.user)@\(admin.tenant) failed: \(error)")
            if started {
                stream.finish(.aborted)
            } else {
                refuse(Problem.internalError("the export failed: \(error)"), on: stream)
            }
        }
    }

    private func refuse(_ error: any Error, on stream: HTTPStream) {
        let problem = error as? Problem ?? Problem.internalError("\(error)")
        let body = (try? JSONSerialization.data(
            withJSONObject: ["error": problem.error, "message": problem.message], options: [.sortedKeys])) ?? Data()
        stream.respond(status: problem.status, contentType: "application/json", body: Array(body) + [0x0A])
    }

    // MARK: Parsing

    /// The token of an `Authorization: Bearer TOKEN` header.
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The filters of the query string; a `Problem` (400) for an unknown parameter or a bad value.
    static func filters(_ arguments: [String: String]) throws(Problem) -> Filters {
        if let unknown = arguments.keys.sorted().first(where: { !parameters.contains($0) }) {
            throw .badRequest("unknown parameter '\(unknown)': use \(parameters.sorted().joined(separator: ", "))")
        }
        for name in ["tenant", "user", "room"] where arguments[name]?.isEmpty == true {
            throw .badRequest("parameter '\(name)' must not be empty")
        }
        var filters = Filters(tenant: arguments["tenant"], user: arguments["user"], room: arguments["room"])
        func time(_ name: String) throws(Problem) -> Millis? {
            guard let text = arguments[name] else { return nil }
            guard let time = ExportTime.parse(text) else {
                throw .badRequest("parameter '\(name)' must be an ISO 8601 time (2026-03-01T09:00:00Z) or a date (2026-03-01)")
            }
            return time
        }
        filters.since = try time("since")
        filters.until = try time("until")
        if let bodies = arguments["bodies"] {
            guard let value = ExportQuery.Bodies(rawValue: bodies) else {
                throw .badRequest("parameter 'bodies' must be include or hash")
            }
            filters.bodies = value
        }
        if let format = arguments["format"], format != ExportFormat.jsonl.rawValue {
            throw .badRequest("parameter 'format' must be jsonl: over HTTP the record is JSONL (liaison export writes CSV)")
        }
        return filters
    }
}
