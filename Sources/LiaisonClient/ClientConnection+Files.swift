import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A file stored on the server, as `POST /v1/files` answers and `msg` events' `attachments` carry it.
public struct UploadedFile: Sendable, Equatable {
    /// The file's id (`f` and 24 hex digits): what `msg.send`'s `attachments` name.
    public let file: String
    /// The name the server kept (`file` when none was given).
    public let name: String
    /// Bytes.
    public let size: Int
    /// The media type it was stored as (lower-cased, without parameters).
    public let contentType: String
    /// SHA-256 of the bytes, hex (its download's `ETag`).
    public let sha256: String

    /// Reads `{file, name, size, content_type, sha256}` (an upload's answer, or one of a `msg`'s `attachments`).
    public init(_ json: JSON) throws(ClientError) {
        guard let file = json["file"]?.string, let name = json["name"]?.string, let size = json["size"]?.int,
              let contentType = json["content_type"]?.string, let sha256 = json["sha256"]?.string
        else { throw .unexpectedReply(json) }
        self.file = file
        self.name = name
        self.size = size
        self.contentType = contentType
        self.sha256 = sha256
    }
}

/// The server refused a file request: its HTTP status and `{"error": code, "message": …}`
/// (`401` `unauthorized`, `403` `forbidden`, `404` `not_found`, `411`, `413` `payload_too_large`,
/// `415` `unsupported_media_type`, `416`, `500` `internal`).
public struct FileRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    /// The body's `error`, or an empty string when it had none.
    public let code: String
    public let message: String

    public var description: String { "HTTP \(status) \(code): \(message)" }
}

/// Uploads and downloads over the server's plain HTTP(S), on the same host and port as the WebSocket:
/// `POST /v1/files` and `GET /v1/files/{file}`, each with `Authorization: Bearer` the token the
/// session was opened with. Make one with ``ClientConnection/files(token:device:session:)``, or with
/// a base URL of your own.
///
/// ```swift
/// let files = connection.files(token: jwt)
/// let chart = try await files.upload(data: png, contentType: "image/png", filename: "chart.png")
/// try await connection.sendMessage(room: room, body: "The chart", attachments: [chart.file])
/// let bytes = try await files.download(file: chart.file)
/// ```
public struct FileClient: Sendable {
    /// `http://host:port` (or `https://`, or a proxy's address with a path): `/v1/files…` is appended to it.
    public let baseURL: URL
    /// The bearer token: the same JWT as `hello`'s.
    public let token: String
    /// Sent as `X-Device` (the server's audit trail records it), or none.
    public let device: String?
    /// What the requests go through. `wss://` servers are reached with its certificate checks (a
    /// self-signed certificate needs a session configured to accept it).
    public let session: URLSession

    public init(baseURL: URL, token: String, device: String? = nil, session: URLSession = .shared) {
        self.baseURL = baseURL
        self.token = token
        self.device = device
        self.session = session
    }

    /// Uploads `data` as one file; returns what the server stored (throws ``FileRequestError`` when it
    /// refuses: too large, a type it does not take, a bad token…). `filename` is sent percent-encoded.
    public func upload(data: Data, contentType: String, filename: String? = nil) async throws -> UploadedFile {
        var request = self.request(path: "/v1/files", method: "POST")
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        request.setValue(String(data.count), forHTTPHeaderField: "Content-Length")
        if let filename {
            let encoded = filename.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? "file"
            request.setValue(encoded, forHTTPHeaderField: "X-Filename")
        }
        let (body, response) = try await session.upload(for: request, from: data)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 201 else { throw Self.refusal(status, body) }
        let json: JSON
        do {
            json = try JSON.parse(Array(body))
        } catch {
            throw ClientError.unexpectedReply(.string(String(decoding: body, as: UTF8.self)))
        }
        return try UploadedFile(json)
    }

    /// The bytes of a file the token's user may read (`404` ``FileRequestError`` otherwise).
    public func download(file: String) async throws -> Data {
        let id = file.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? file
        let (body, response) = try await session.data(for: request(path: "/v1/files/" + id, method: "GET"))
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw Self.refusal(status, body) }
        return body
    }

    private func request(path: String, method: String) -> URLRequest {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.cachePolicy = .reloadIgnoringLocalCacheData
        request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization")
        if let device { request.setValue(device, forHTTPHeaderField: "X-Device") }
        return request
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func refusal(_ status: Int, _ body: Data) -> FileRequestError {
        let json = try? JSON.parse(Array(body))
        return FileRequestError(status: status, code: json?["error"]?.string ?? "",
                                message: json?["message"]?.string ?? String(decoding: body.prefix(200), as: UTF8.self))
    }
}

extension ClientConnection {
    /// A ``FileClient`` for this connection's server: `http://host:port` (`https://` when the
    /// connection uses TLS), with `token` — the JWT given to ``hello(token:device:client:timeout:)``.
    public func files(token: String, device: String? = nil, session: URLSession = .shared) -> FileClient {
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        let scheme = options.tls == .off ? "http" : "https"
        return FileClient(baseURL: URL(string: "\(scheme)://\(host):\(options.port)")!, token: token, device: device,
                          session: session)
    }

    /// `msg.send` with files uploaded before (their ids, at most 10), and a `body` that may then be
    /// empty; returns the `ok` (`room`, `seq`, `ts`).
    @discardableResult
    public func sendMessage(room: String, body: String? = nil, attachments: [String] = [], clientMsgID: String? = nil)
        async throws -> JSON
    {
        var fields: [String: JSON] = ["room": .string(room)]
        fields["body"] = body.map(JSON.string)
        if !attachments.isEmpty { fields["attachments"] = .array(attachments.map { ["file": .string($0)] }) }
        fields["client_msg_id"] = clientMsgID.map(JSON.string)
        return try await request("msg.send", fields).get()
    }
}
