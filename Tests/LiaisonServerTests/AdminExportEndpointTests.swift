import Foundation
import LiaisonCore
import Testing
@testable import LiaisonServer

/// What `GET /v1/admin/export` accepts before it looks at the token: its query and its header; and the
/// bounded buffer a streamed response is written through.
@Suite struct AdminExportEndpointTests {
    typealias Endpoint = AdminExportEndpoint

    @Test func theFiltersOfAQuery() throws {
        let filters = try Endpoint.filters([
            "user": "ana", "room": "r1", "since": "2026-01-01", "until": "2026-02-01T00:00:00Z", "bodies": "hash",
            "tenant": "acme", "format": "jsonl",
        ])
        #expect(filters == Endpoint.Filters(tenant: "acme", user: "ana", room: "r1", since: 1_767_225_600_000,
                                            until: 1_769_904_000_000, bodies: .hash))
        #expect(try Endpoint.filters([:]) == Endpoint.Filters())
    }

    @Test func badQueriesAreRefusedWithAReason() {
        for (query, says) in [
            (["from": "2026-01-01"], "unknown parameter 'from'"),
            (["since": "last week"], "'since' must be an ISO 8601 time"),
            (["bodies": "all"], "'bodies' must be include or hash"),
            (["format": "csv"], "'format' must be jsonl"),
            (["user": ""], "'user' must not be empty"),
        ] {
            #expect {
                try Endpoint.filters(query)
            } throws: { error in
                let problem = error as! Endpoint.Problem
                return problem.status == 400 && problem.error == "bad_request" && problem.message.contains(says)
            }
        }
    }

    @Test func onlyABearerTokenIsTaken() {
        #expect(Endpoint.bearerToken("Bearer abc.def") == "abc.def")
        #expect(Endpoint.bearerToken("bearer  abc ") == "abc")
        #expect(Endpoint.bearerToken("Basic dXNlcjpwYXNz") == nil)
        #expect(Endpoint.bearerToken("Bearer") == nil)
    }

    @Test func aStreamHandsOverItsHeadThenItsChunksThenItsEnd() throws {
        let wakes = WakeCount()
        let stream = HTTPStream(wsi: OpaquePointer(bitPattern: 1)!) { _ in wakes.add() }
        #expect(stream.takeHead() == nil)
        stream.begin(status: 200, contentType: "application/x-ndjson")
        try stream.write([1, 2])
        try stream.write([3])
        stream.finish()
        #expect(wakes.count == 1)  // one wake-up until the service thread takes something
        #expect(stream.takeHead()?.status == 200)
        #expect(stream.takeBody().chunk == [1, 2])
        let last = stream.takeBody()
        #expect(last.chunk == [3] && last.end == .complete)
    }

    @Test func aWriterWaitingOnAFullStreamStopsWhenTheConnectionCloses() throws {
        let stream = HTTPStream(wsi: OpaquePointer(bitPattern: 1)!, limit: 4) { _ in }
        try stream.write([UInt8](repeating: 0, count: 8))
        let cancel = Thread { stream.cancel() }
        cancel.start()
        #expect(throws: HTTPStream.Closed.self) { try stream.write([0]) }
    }

    @Test func aWriterGivesUpOnAStalledClient() throws {
        let stream = HTTPStream(wsi: OpaquePointer(bitPattern: 1)!, limit: 4, stallTimeout: 0.05) { _ in }
        try stream.write([UInt8](repeating: 0, count: 8))
        #expect(throws: HTTPStream.Closed.self) { try stream.write([0]) }
        // Aborted: what was queued is dropped and the connection is to be closed.
        stream.finish(.aborted)
        #expect(stream.isAborted)
        let body = stream.takeBody()
        #expect(body.chunk == nil && body.end == .aborted)
    }
}

private final class WakeCount: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
