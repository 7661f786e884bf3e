import Foundation
import LiaisonCore

/// What an HTTP request is answered with: status, type, extra headers and a body — bytes, or a stored
/// file decrypted a chunk at a time as the socket takes it.
struct HTTPResponse: Sendable {
    enum Body: Sendable {
        case bytes([UInt8])
        case file(FileReader)
    }

    var status: UInt32
    var contentType: String
    var headers: [(name: String, value: String)] = []
    var body: Body
    /// Close the connection after this response (a request body that was not read).
    var closesConnection = false

    init(status: UInt32, contentType: String, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = .bytes(body)
        self.headers = headers
    }

    init(status: UInt32, contentType: String, file: FileReader, headers: [(name: String, value: String)]) {
        self.status = status
        self.contentType = contentType
        body = .file(file)
        self.headers = headers
    }

    var contentLength: Int64 {
        switch body {
        case .bytes(let bytes): Int64(bytes.count)
        case .file(let reader): reader.remaining
        }
    }

    /// `{"error": code, "message": message}`.
    static func error(_ status: UInt32, _ code: String, _ message: String) -> HTTPResponse {
        json(status, ["error": code, "message": message])
    }

    static func json(_ status: UInt32, _ object: [String: any Sendable]) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return HTTPResponse(status: status, contentType: "application/json", body: Array(data))
    }
}
