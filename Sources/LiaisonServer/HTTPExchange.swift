import Foundation
import LiaisonCore

/// One HTTP request on an lws connection and its answer, kept in the connection's per-session slot.
/// Only the service thread touches its state; other threads (the tasks that check a token or finish
/// an upload) only carry it back through the outbound queue.
final class HTTPExchange: @unchecked Sendable {
    /// What a task decided: answer, or go on reading an upload's body into this upload.
    enum Step: Sendable {
        case respond(HTTPResponse)
        case receive(FileUpload)
    }

    /// The connection; valid until `closed`.
    let wsi: OpaquePointer
    /// The request as lws parsed it.
    let request: HTTPRequest
    /// The upload being received, once its token was accepted.
    var upload: FileUpload?
    /// Body bytes that arrived before the token was checked (bounded: reading pauses past a limit).
    var early: [UInt8] = []
    /// The whole body arrived (`LWS_CALLBACK_HTTP_BODY_COMPLETION`).
    var bodyComplete = false
    /// The answer, once there is one; its body is written on writable callbacks.
    var response: HTTPResponse?
    var headersWritten = false
    /// Bytes of a `.bytes` body already written.
    var written = 0
    /// A response produced by another thread as it is sent (instead of `response`).
    var stream: HTTPStream?
    /// The connection went away: late answers are dropped.
    var closed = false

    init(wsi: OpaquePointer, request: HTTPRequest) {
        self.wsi = wsi
        self.request = request
    }
}

/// The parts of a request the endpoints look at.
struct HTTPRequest: Sendable {
    enum Method: Sendable { case get, post, other }

    var method: Method
    var path: String
    var query: [String: String]
    var authorization: String?
    var contentType: String?
    var contentLength: Int64?
    var range: String?
    var ifNoneMatch: String?
    var filename: String?
    var device: String?

    /// The bearer token of `Authorization: Bearer …`.
    var bearerToken: String? {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return nil }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
