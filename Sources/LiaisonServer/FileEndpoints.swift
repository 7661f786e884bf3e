import Foundation
import LiaisonCore

/// `POST /v1/files` and `GET /v1/files/{id}`: the decisions, without lws. Uploads are checked from
/// their headers before a byte of body is read; downloads answer 404 alike for a file that does not
/// exist and one the caller may not read.
struct FileEndpoints: Sendable {
    let files: FileLibrary
    let verifier: TokenVerifier

    /// A value, or the answer that refuses the request.
    enum Outcome<Value: Sendable>: Sendable {
        case ok(Value)
        case refused(HTTPResponse)
    }

    static let uploadPath = "/v1/files"
    static let downloadPrefix = "/v1/files/"

    /// The answer that refuses an upload from its headers alone (401 without a token, 411, 413, 415),
    /// or nil when its body may be read once the token is checked.
    func refusal(of request: HTTPRequest) -> HTTPResponse? {
        guard request.bearerToken != nil else {
            return .error(401, "unauthorized", "an Authorization: Bearer token is required")
        }
        guard let length = request.contentLength, length >= 0 else {
            return .error(411, "length_required", "uploads need a Content-Length")
        }
        do {
            _ = try files.acceptedType(size: length, contentType: request.contentType ?? "")
            return nil
        } catch {
            return .error(error.status, error.code, error.message)
        }
    }

    /// The token's user, or the 401 that says why not.
    func caller(of request: HTTPRequest) async -> Outcome<UserRecord> {
        guard let token = request.bearerToken else {
            return .refused(.error(401, "unauthorized", "an Authorization: Bearer token is required"))
        }
        do {
            return .ok(try await verifier.verify(token))
        } catch {
            return .refused(.error(401, "unauthorized", error.message))
        }
    }

    func beginUpload(_ request: HTTPRequest, by caller: UserRecord) -> Outcome<FileUpload> {
        guard caller.role != .admin else {
            return .refused(.error(403, "forbidden", "a admin has no access to chat content"))
        }
        do {
            return .ok(try files.beginUpload(
                tenant: caller.tenant, uploader: caller.user, name: request.filename.flatMap { $0.removingPercentEncoding },
                contentType: request.contentType ?? "", size: request.contentLength ?? 0))
        } catch {
            return .refused(.error(error.status, error.code, error.message))
        }
    }

    /// `201 {file, name, size, content_type, sha256}` once the upload is durable.
    func finish(_ upload: FileUpload, device: String?) async -> HTTPResponse {
        do {
            let stored = try await files.finish(upload, device: device)
            var response = HTTPResponse.json(201, [
                "file": stored.file, "name": stored.name, "size": stored.size, "content_type": stored.contentType,
                "sha256": stored.sha256,
            ])
            response.headers = [("location", Self.downloadPrefix + stored.file)]
            return response
        } catch {
            upload.discard()
            return .error(500, "internal", "the file could not be stored")
        }
    }

    func download(_ request: HTTPRequest, by caller: UserRecord) async -> HTTPResponse {
        let id = String(request.path.dropFirst(Self.downloadPrefix.count))
        guard let reader = await files.open(id, tenant: caller.tenant, user: caller.user, device: request.device) else {
            if await files.isErased(id, tenant: caller.tenant, user: caller.user) {
                return .error(410, "erased", "retention erased this file; its record remains")
            }
            return .error(404, "not_found", "no such file")
        }
        let stored = reader.stored
        let etag = "\"\(stored.sha256)\""
        var headers: [(name: String, value: String)] = [
            ("etag", etag), ("accept-ranges", "bytes"), ("x-content-type-options", "nosniff"),
            ("content-disposition", Self.contentDisposition(stored.name)), ("cache-control", "private, no-store"),
        ]
        if let match = request.ifNoneMatch, match == etag || match == "*" {
            return HTTPResponse(status: 304, contentType: stored.contentType, body: [], headers: headers)
        }
        guard let rangeHeader = request.range else {
            return HTTPResponse(status: 200, contentType: stored.contentType, file: reader, headers: headers)
        }
        guard let range = Self.byteRange(rangeHeader, size: stored.size) else {
            return HTTPResponse(status: 416, contentType: "application/json",
                                body: Array(#"{"error":"range_not_satisfiable","message":"the range is not within the file"}"#.utf8),
                                headers: [("content-range", "bytes */\(stored.size)")])
        }
        reader.select(range)
        headers.append(("content-range", "bytes \(range.lowerBound)-\(range.upperBound)/\(stored.size)"))
        return HTTPResponse(status: 206, contentType: stored.contentType, file: reader, headers: headers)
    }

    /// One range of `bytes=a-b`, `bytes=a-` or `bytes=-n`, within `size`; nil when unsatisfiable.
    static func byteRange(_ header: String, size: Int64) -> ClosedRange<Int64>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int64(last), suffix > 0 else { return nil }
            return max(0, size - suffix)...(size - 1)
        }
        guard let start = Int64(first), start >= 0, start < size else { return nil }
        if last.isEmpty { return start...(size - 1) }
        guard let end = Int64(last), end >= start else { return nil }
        return start...min(end, size - 1)
    }

    /// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266).
    static func contentDisposition(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 ? Character($0) : "_" })
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? "file"
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
