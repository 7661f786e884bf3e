import CLibWebSockets
import Foundation

/// Responses another thread produces while they are sent (`HTTPStream`, e.g. the admin export):
/// chunked transfer coding, a chunk per writable callback.
extension WebSocketServer {
    /// One step of a streamed response: its head (status, content type, chunked transfer coding), or its
    /// next chunk, or its end; then asks for another writable callback while more is waiting.
    func writeStream(_ wsi: OpaquePointer, _ stream: HTTPStream, slot: UnsafeMutableRawPointer?) -> Int32 {
        guard stream.headSent else {
            guard let head = stream.takeHead() else { return 0 }
            guard writeStreamHead(wsi, head) else { return -1 }
            lws_callback_on_writable(wsi)
            return 0
        }
        let (chunk, end) = stream.takeBody()
        var framed: [UInt8] = []
        if let chunk, !chunk.isEmpty {
            framed += Array(String(chunk.count, radix: 16).utf8) + [0x0D, 0x0A] + chunk + [0x0D, 0x0A]
        }
        if end == .complete { framed += Array("0\r\n\r\n".utf8) }
        if !framed.isEmpty {
            var buffer = [UInt8](repeating: 0, count: Int(lwss_pre()) + framed.count)
            buffer.replaceSubrange(Int(lwss_pre())..., with: framed)
            let written = buffer.withUnsafeMutableBufferPointer { buffer in
                lws_write(wsi, buffer.baseAddress! + Int(lwss_pre()), framed.count,
                          end == .complete ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP)
            }
            guard written >= framed.count else { return -1 }
        }
        switch end {
        case .complete?:
            releaseHTTP(slot: slot)
            return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
        case .aborted?:
            return -1
        case nil:
            if stream.hasBody { lws_callback_on_writable(wsi) }
            return 0
        }
    }

    /// Writes a streamed response's status line and headers: no length, chunked transfer coding.
    private func writeStreamHead(_ wsi: OpaquePointer, _ head: HTTPStream.Head) -> Bool {
        var headers = [UInt8](repeating: 0, count: Int(lwss_pre()) + 1024)
        return headers.withUnsafeMutableBufferPointer { buffer -> Bool in
            let start = buffer.baseAddress! + Int(lwss_pre())
            let end = buffer.baseAddress! + buffer.count
            var position: UnsafeMutablePointer<UInt8>? = start
            var contentType = Array(head.contentType.utf8)
            var chunked = Array("chunked".utf8)
            var noStore = Array("no-store".utf8)
            return lws_add_http_header_status(wsi, head.status, &position, end) == 0
                && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, &contentType, Int32(contentType.count),
                                                &position, end) == 0
                && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, &chunked, Int32(chunked.count),
                                                &position, end) == 0
                && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, &noStore, Int32(noStore.count),
                                                &position, end) == 0
                && lws_finalize_write_http_header(wsi, start, &position, end) == 0
        }
    }
}
