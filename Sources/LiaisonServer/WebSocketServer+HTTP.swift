import CLibWebSockets
import Foundation
import LiaisonCore

/// Plain HTTP on the service thread: each request becomes an `HTTPExchange` in the connection's
/// slot; answers that need the domain (tokens, files) are decided by tasks and come back through the
/// outbound queue; headers and bodies are written on writable callbacks, a bounded piece at a time,
/// so a large download never sits in memory and a slow reader never blocks the thread.
extension WebSocketServer {
    /// Most bytes written per writable callback.
    static let httpWriteBytes = 64 * 1024
    /// Body bytes held while an upload's token is checked; reading pauses beyond this.
    static let earlyBodyLimit = 1 << 20

    func beginHTTP(_ wsi: OpaquePointer, path: String, slot: UnsafeMutableRawPointer?) -> Int32 {
        guard let slot else { return -1 }
        releaseHTTP(slot: slot)  // the previous request on a kept-alive connection
        let request = readRequest(wsi, path: path)
        let exchange = HTTPExchange(wsi: wsi, request: request)
        slot.storeBytes(of: Unmanaged.passRetained(exchange).toOpaque(), as: UnsafeMutableRawPointer?.self)
        let needsDomain = path == FileEndpoints.uploadPath || path == AdminExportEndpoint.path
            || path.hasPrefix(FileEndpoints.downloadPrefix)
        guard let files = http.files, let adminExport else {
            var answer = needsDomain ? http.relayAnswer(path: path, query: request.query)
                : request.method == .get ? http.respond(to: path, query: request.query)
                : HTTPResponse.error(405, "method_not_allowed", "\(path) does not take this method")
            answer.closesConnection = needsDomain || request.method != .get
            continueHTTP(exchange, .respond(answer))
            return 0
        }
        switch request.method {
        case .post where path == FileEndpoints.uploadPath:
            if var refusal = files.refusal(of: request) {
                refusal.closesConnection = true  // its body is never read
                continueHTTP(exchange, .respond(refusal))
                return 0
            }
            lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, Int32(files.files.configuration.bodyTimeout.rounded(.up)))
            Task { [queue] in
                switch await files.caller(of: request) {
                case .refused(var refusal):
                    refusal.closesConnection = true
                    queue.http(exchange, .respond(refusal))
                case .ok(let caller):
                    switch files.beginUpload(request, by: caller) {
                    case .ok(let upload): queue.http(exchange, .receive(upload))
                    case .refused(var refusal):
                        refusal.closesConnection = true
                        queue.http(exchange, .respond(refusal))
                    }
                }
            }
        case .get where path == AdminExportEndpoint.path:
            let stream = HTTPStream(wsi: wsi) { [queue] in queue.wake($0) }
            exchange.stream = stream
            // lws's idle timeout would cut the response while the audit chain is verified (seconds for a
            // long trail, nothing written yet); the stream bounds a stalled client itself.
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
            adminExport.start(arguments: request.query, authorization: request.authorization, stream: stream)
        case .get where path.hasPrefix(FileEndpoints.downloadPrefix):
            Task { [queue] in
                switch await files.caller(of: request) {
                case .refused(let refusal): queue.http(exchange, .respond(refusal))
                case .ok(let caller): queue.http(exchange, .respond(await files.download(request, by: caller)))
                }
            }
        case .get:
            continueHTTP(exchange, .respond(http.respond(to: path, query: request.query)))
        case .post, .other:
            var refusal = HTTPResponse.error(405, "method_not_allowed", "\(path) does not take this method")
            refusal.closesConnection = true
            continueHTTP(exchange, .respond(refusal))
        }
        return 0
    }

    /// A step decided by a task (or at once): an answer to write, or an upload to read the body into.
    func continueHTTP(_ exchange: HTTPExchange, _ step: HTTPExchange.Step) {
        switch step {
        case .respond(let response):
            guard !exchange.closed, exchange.response == nil else { return }
            exchange.response = response
            lws_callback_on_writable(exchange.wsi)
        case .receive(let upload):
            guard !exchange.closed, exchange.response == nil else {
                upload.discard()
                return
            }
            exchange.upload = upload
            let early = exchange.early
            exchange.early = []
            if !early.isEmpty, !append(early, to: exchange) { return }
            lws_rx_flow_control(exchange.wsi, 1)
            if exchange.bodyComplete { finishUpload(exchange) }
        }
    }

    func receiveHTTPBody(_ wsi: OpaquePointer, _ bytes: UnsafeRawBufferPointer, slot: UnsafeMutableRawPointer?) -> Int32 {
        guard let exchange = exchange(in: slot), exchange.response == nil, let files = http.files else { return 0 }
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, Int32(files.files.configuration.bodyTimeout.rounded(.up)))
        if exchange.upload != nil {
            _ = append(Array(bytes), to: exchange)
        } else {
            exchange.early += bytes
            if exchange.early.count > Self.earlyBodyLimit { lws_rx_flow_control(wsi, 0) }
        }
        return 0
    }

    func completeHTTPBody(_ wsi: OpaquePointer, slot: UnsafeMutableRawPointer?) -> Int32 {
        guard let exchange = exchange(in: slot) else { return 0 }
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        exchange.bodyComplete = true
        if exchange.upload != nil, exchange.response == nil { finishUpload(exchange) }
        return 0
    }

    /// Writes the headers, then the body a piece per callback; ends the transaction (or the
    /// connection, when the request's body was left unread) after the last piece.
    func writeHTTP(_ wsi: OpaquePointer, slot: UnsafeMutableRawPointer?) -> Int32 {
        guard let exchange = exchange(in: slot) else { return 0 }
        if let stream = exchange.stream { return writeStream(wsi, stream, slot: slot) }
        guard let response = exchange.response else { return 0 }
        if !exchange.headersWritten {
            guard writeHeaders(wsi, response) else { return -1 }
            exchange.headersWritten = true
            if response.contentLength > 0 {
                lws_callback_on_writable(wsi)
                return 0
            }
            return finishHTTP(wsi, exchange, slot: slot)
        }
        let piece: [UInt8]
        let last: Bool
        switch response.body {
        case .bytes(let bytes):
            let end = min(bytes.count, exchange.written + Self.httpWriteBytes)
            piece = Array(bytes[exchange.written..<end])
            exchange.written = end
            last = end == bytes.count
        case .file(let reader):
            // Altered or missing bytes on disk: the status is already sent, so the connection is cut.
            guard let next = try? reader.read() else { return -1 }
            piece = next
            last = reader.remaining == 0
        }
        guard write(wsi, piece, mode: last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) else { return -1 }
        if last { return finishHTTP(wsi, exchange, slot: slot) }
        lws_callback_on_writable(wsi)
        return 0
    }

    /// Forgets the slot's exchange; an upload it was still reading is removed.
    func releaseHTTP(slot: UnsafeMutableRawPointer?) {
        guard let slot, let pointer = slot.load(as: UnsafeMutableRawPointer?.self) else { return }
        slot.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
        let exchange = Unmanaged<HTTPExchange>.fromOpaque(pointer).takeRetainedValue()
        exchange.closed = true
        exchange.stream?.closed = true
        exchange.stream?.cancel()
        exchange.upload?.discard()
        exchange.upload = nil
    }

    // MARK: Helpers

    private func exchange(in slot: UnsafeMutableRawPointer?) -> HTTPExchange? {
        guard let pointer = slot?.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        return Unmanaged<HTTPExchange>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Appends to the exchange's upload; a failure (a disk error) answers 500.
    private func append(_ bytes: [UInt8], to exchange: HTTPExchange) -> Bool {
        do {
            try bytes.withUnsafeBytes { try exchange.upload?.append($0) }
            return true
        } catch {
            exchange.upload?.discard()
            exchange.upload = nil
            var failure = HTTPResponse.error(500, "internal", "the upload could not be written")
            failure.closesConnection = true
            continueHTTP(exchange, .respond(failure))
            return false
        }
    }

    /// Hands the complete upload to a task that seals and stores it, then answers.
    private func finishUpload(_ exchange: HTTPExchange) {
        guard let upload = exchange.upload else { return }
        exchange.upload = nil
        guard let files = http.files else { return }
        Task { [queue] in
            queue.http(exchange, .respond(await files.finish(upload, device: exchange.request.device)))
        }
    }

    private func finishHTTP(_ wsi: OpaquePointer, _ exchange: HTTPExchange, slot: UnsafeMutableRawPointer?) -> Int32 {
        let closes = exchange.response?.closesConnection ?? false
        releaseHTTP(slot: slot)
        if closes { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    private func writeHeaders(_ wsi: OpaquePointer, _ response: HTTPResponse) -> Bool {
        var buffer = [UInt8](repeating: 0, count: Int(lwss_pre()) + 4096)
        return buffer.withUnsafeMutableBufferPointer { buffer -> Bool in
            let start = buffer.baseAddress! + Int(lwss_pre())
            let end = buffer.baseAddress! + buffer.count
            var position: UnsafeMutablePointer<UInt8>? = start
            guard lws_add_http_common_headers(
                wsi, response.status, response.contentType, lws_filepos_t(response.contentLength), &position, end) == 0
            else { return false }
            for (name, value) in response.headers {
                let added = (name + ":").withCString { name in
                    value.withCString { value in
                        lws_add_http_header_by_name(wsi, UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self),
                                                    UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self),
                                                    Int32(strlen(value)), &position, end)
                    }
                }
                guard added == 0 else { return false }
            }
            return lws_finalize_write_http_header(wsi, start, &position, end) == 0
        }
    }

    private func write(_ wsi: OpaquePointer, _ bytes: [UInt8], mode: lws_write_protocol) -> Bool {
        var buffer = [UInt8](repeating: 0, count: Int(lwss_pre()) + bytes.count)
        buffer.replaceSubrange(Int(lwss_pre())..., with: bytes)
        let written = buffer.withUnsafeMutableBufferPointer { buffer in
            lws_write(wsi, buffer.baseAddress! + Int(lwss_pre()), bytes.count, mode)
        }
        return written >= bytes.count
    }

    private func readRequest(_ wsi: OpaquePointer, path: String) -> HTTPRequest {
        let method: HTTPRequest.Method = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ? .get
            : lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? .post : .other
        return HTTPRequest(
            method: method, path: path, query: queryArguments(wsi),
            authorization: header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION),
            contentType: header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE),
            contentLength: header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH).flatMap { Int64($0) },
            range: header(wsi, WSI_TOKEN_HTTP_RANGE), ifNoneMatch: header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH),
            filename: customHeader(wsi, "x-filename:"), device: customHeader(wsi, "x-device:"))
    }

    private func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = lws_hdr_total_length(wsi, token)
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(length) + 1)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token) >= 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private func customHeader(_ wsi: OpaquePointer, _ name: String) -> String? {
        let length = lws_hdr_custom_length(wsi, name, Int32(name.utf8.count))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(length) + 1)
        guard lws_hdr_custom_copy(wsi, &buffer, Int32(buffer.count), name, Int32(name.utf8.count)) >= 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The request's `?name=value&…` arguments, URL-decoded by lws.
    private func queryArguments(_ wsi: OpaquePointer) -> [String: String] {
        var arguments: [String: String] = [:]
        var buffer = [CChar](repeating: 0, count: 2048)
        var index: Int32 = 0
        while lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, index) > 0 {
            let pair = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if let name = parts.first { arguments[String(name)] = parts.count > 1 ? String(parts[1]) : "" }
            index += 1
        }
        return arguments
    }
}
