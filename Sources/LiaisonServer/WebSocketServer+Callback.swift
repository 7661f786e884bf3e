import CLibWebSockets
import Foundation
import LiaisonCore

/// The protocol callback libwebsockets calls on the service thread: it finds the server through the
/// context's user pointer and each connection through its per-session slot (a retained pointer).
func webSocketServerCallback(
    wsi: OpaquePointer?, reason: lws_callback_reasons, slot: UnsafeMutableRawPointer?,
    input: UnsafeMutableRawPointer?, length: Int
) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else { return 0 }
    let server = Unmanaged<WebSocketServer>.fromOpaque(owner).takeUnretainedValue()
    return server.handle(wsi: wsi, reason: reason, slot: slot, input: input, length: length)
}

extension WebSocketServer {
    static let framesPerWriteable = 64
    /// The most bytes of frames written with one `lws_write` (one send(2)); larger frames go alone.
    static let coalescingBytes = 64 * 1024

    func handle(
        wsi: OpaquePointer, reason: lws_callback_reasons, slot: UnsafeMutableRawPointer?,
        input: UnsafeMutableRawPointer?, length: Int
    ) -> Int32 {
        switch reason {
        case LWS_CALLBACK_ESTABLISHED:
            established(wsi, slot: slot)
        case LWS_CALLBACK_RECEIVE:
            guard let connection = connection(in: slot) else { return -1 }
            return receive(connection, UnsafeRawBufferPointer(start: input, count: length))
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let connection = connection(in: slot) else { return -1 }
            return writeable(connection)
        case LWS_CALLBACK_CLOSED:
            closed(slot: slot)
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            drainQueue()
        case LWS_CALLBACK_HTTP:
            let path = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "/"
            return beginHTTP(wsi, path: path, slot: slot)
        case LWS_CALLBACK_HTTP_BODY:
            return receiveHTTPBody(wsi, UnsafeRawBufferPointer(start: input, count: length), slot: slot)
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            return completeHTTPBody(wsi, slot: slot)
        case LWS_CALLBACK_HTTP_WRITEABLE:
            return writeHTTP(wsi, slot: slot)
        case LWS_CALLBACK_CLOSED_HTTP:
            releaseHTTP(slot: slot)
        default:
            return lws_callback_http_dummy(wsi, reason, slot, input, length)
        }
        return 0
    }

    // MARK: WebSocket connections

    private func connection(in slot: UnsafeMutableRawPointer?) -> Connection? {
        guard let pointer = slot?.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as? Connection
    }

    private func established(_ wsi: OpaquePointer, slot: UnsafeMutableRawPointer?) {
        guard let slot else { return }
        let echo = configuration.echoPath.map { $0 == requestPath(wsi) } ?? false
        let connection = Connection(wsi: wsi, sessions: sessions, echo: echo)
        if configuration.compression { connection.compressed = Self.limitCompressionMemory(wsi) }
        slot.storeBytes(of: Unmanaged<AnyObject>.passRetained(connection).toOpaque(), as: UnsafeMutableRawPointer?.self)
        connections[ObjectIdentifier(connection)] = connection
        ServerMetrics.connections.record(liveConnections.wrappingAdd(1, ordering: .relaxed).newValue)
        if closingAll { requestClose(connection, .goingAway, stopReason.withLock { $0 }) }
    }

    private func receive(_ connection: Connection, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        let wsi = connection.wsi
        if let discarding = connection.discarding {
            if discarding == .untilMessageEnds, lws_is_final_fragment(wsi) != 0, lws_remaining_packet_payload(wsi) == 0 {
                connection.discarding = .untilClosed
                requestClose(connection, .messageTooBig, "message larger than \(configuration.maxFrameBytes) bytes")
            }
            return 0
        }
        if connection.partialMessage.isEmpty { connection.partialIsBinary = lws_frame_is_binary(wsi) != 0 }
        let total = connection.partialMessage.count + bytes.count + Int(lws_remaining_packet_payload(wsi))
        guard total <= configuration.maxFrameBytes else {
            ServerMetrics.oversizeFrames.increment()
            // Close from the writable callback (lws then sends the close frame and waits for the
            // client's) and read and drop the rest meanwhile: returning -1 here would reset the socket
            // under unread data, and the client would see 1006 instead of 1009. A message in fragments
            // is dropped to its end first (bounded by the close timeout).
            connection.partialMessage = []
            if lws_is_final_fragment(wsi) != 0 {
                connection.discarding = .untilClosed
                requestClose(connection, .messageTooBig, "message larger than \(configuration.maxFrameBytes) bytes")
            } else {
                connection.discarding = .untilMessageEnds
                lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 10)
            }
            return 0
        }
        let final = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        guard final else {
            connection.partialMessage.append(contentsOf: bytes)
            return 0
        }
        let message: Data
        if connection.partialMessage.isEmpty {
            message = Data(bytes)
        } else {
            connection.partialMessage.append(contentsOf: bytes)
            message = Data(connection.partialMessage)
            connection.partialMessage = []
        }
        ServerMetrics.framesIn.increment()
        guard let session = connection.session else {
            echo(message, binary: connection.partialIsBinary, on: connection)
            return 0
        }
        if connection.partialIsBinary {
            session.receiveBinary()
        } else {
            session.receive(text: message)
        }
        return 0
    }

    /// The echo path: the message goes back as it came, text or binary, through the same outbox and its limit.
    private func echo(_ message: Data, binary: Bool, on connection: Connection) {
        let frame = OutboundFrame(payload: message, binary: binary)
        connection.backlog.add(frame.count, ordering: .relaxed)
        queue(frame, for: connection)
    }

    /// A compressing connection's own side costs memory only while it writes: a small zlib memory
    /// level, and the compressor freed after each message (always allowed to the sender, RFC 7692 §7.1.1).
    /// False (and nothing set) when the client did not negotiate permessage-deflate.
    private static func limitCompressionMemory(_ wsi: OpaquePointer) -> Bool {
        let options: [(name: String, value: String)] = [
            ("mem_level", "1"), ("client_no_context_takeover", "1"), ("tx_buf_size", "10"),
        ]
        return options.allSatisfy { lws_set_extension_option(wsi, "permessage-deflate", $0.name, $0.value) == 0 }
    }

    /// The path of the upgrade request (`/ws`), or nil.
    private func requestPath(_ wsi: OpaquePointer) -> String? {
        let length = Int(lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        guard length > 0, length < 4096 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_GET_URI) > 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Writes queued frames while the socket takes them (lws buffers a partial write itself and then
    /// reports the pipe choked), up to a bound so one busy connection cannot starve the others. Several
    /// small frames go out framed back to back in one write; a lone or large frame is framed in place.
    private func writeable(_ connection: Connection) -> Int32 {
        connection.compressing = nil  // lws calls back only once it has drained the last one
        var written = 0
        while written < Self.framesPerWriteable, let next = connection.peek() {
            let count: Int
            // With permessage-deflate lws compresses each write itself: no raw, coalesced writes.
            if connection.queuedFrames > 1, !next.isBinary, !connection.compressed,
               WebSocketFraming.headerBytes(next.count) + next.count <= Self.coalescingBytes / 2 {
                count = writeCoalesced(connection, limit: Self.framesPerWriteable - written)
            } else {
                count = writeInPlace(connection)
            }
            guard count > 0 else { return -1 }
            written += count
            // lws_send_pipe_choked polls the socket: ask only when there is more to write.
            if connection.queuedFrames == 0 || lws_send_pipe_choked(connection.wsi) != 0 { break }
        }
        if written > 0 {
            ServerMetrics.framesOut.increment(by: written)
            if connection.hasOutput { lws_callback_on_writable(connection.wsi) }
            return 0
        }
        if let close = connection.pendingClose {
            var reason = Array(close.reason.utf8.prefix(120))
            lws_close_reason(connection.wsi, lws_close_status(rawValue: UInt32(close.code.rawValue)), &reason, reason.count)
            return -1
        }
        return 0
    }

    /// Writes the next frame with lws framing it in its own headroom. The frames written (1), or 0 on failure.
    private func writeInPlace(_ connection: Connection) -> Int {
        guard let frame = connection.dequeue() else { return 0 }
        adjustOutboxTotal(-frame.count)
        let sent = lws_write(connection.wsi, frame.payloadStart.assumingMemoryBound(to: UInt8.self), frame.count,
                             frame.isBinary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT)
        guard sent >= frame.count else { return 0 }
        if connection.compressed { connection.compressing = frame }
        frame.deliveryFinished()
        return 1
    }

    /// Frames up to `limit` queued frames back to back in `coalescing` and writes them with one raw write.
    /// The frames written, or 0 on failure.
    private func writeCoalesced(_ connection: Connection, limit: Int) -> Int {
        var length = 0
        var bytes = 0
        while coalesced.count < limit, let frame = connection.peek(), !frame.isBinary {
            let framed = WebSocketFraming.headerBytes(frame.count) + frame.count
            guard length + framed <= coalescing.count else { break }
            _ = connection.dequeue()
            length += WebSocketFraming.writeTextHeader(payloadLength: frame.count, to: coalescing.baseAddress! + length)
            (coalescing.baseAddress! + length).copyMemory(from: frame.payloadStart, byteCount: frame.count)
            length += frame.count
            bytes += frame.count
            coalesced.append(frame)
        }
        defer { coalesced.removeAll(keepingCapacity: true) }
        adjustOutboxTotal(-bytes)
        let sent = lws_write(connection.wsi, coalescing.baseAddress!.assumingMemoryBound(to: UInt8.self), length, lwss_write_raw())
        guard sent >= length else { return 0 }
        for frame in coalesced { frame.deliveryFinished() }
        return coalesced.count
    }

    private func closed(slot: UnsafeMutableRawPointer?) {
        guard let slot, let pointer = slot.load(as: UnsafeMutableRawPointer?.self) else { return }
        slot.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
        guard let connection = Unmanaged<AnyObject>.fromOpaque(pointer).takeRetainedValue() as? Connection else {
            return
        }
        connection.closed = true
        adjustOutboxTotal(-connection.outboxBytes)
        connection.discardOutbox()
        connections[ObjectIdentifier(connection)] = nil
        ServerMetrics.connections.record(liveConnections.wrappingSubtract(1, ordering: .relaxed).newValue)
        connection.session?.disconnected()
    }

    // MARK: Frames from other threads

    /// Moves queued commands into outboxes and asks lws for write callbacks.
    private func drainQueue() {
        for command in queue.takeAll() {
            switch command {
            case .send(let frame, let targets):
                for connection in targets { queue(frame, for: connection) }
            case .close(let connection, let code, let reason):
                requestClose(connection, code, reason)
            case .http(let exchange, let step):
                continueHTTP(exchange, step)
            case .writable(let stream):
                guard !stream.closed else { break }
                // An aborted response is closed even if its client reads nothing (writable never comes).
                if stream.isAborted { lws_set_timeout(stream.wsi, PENDING_TIMEOUT_USER_OK, 1) }
                lws_callback_on_writable(stream.wsi)
            }
        }
        if isStopping && !closingAll {
            closingAll = true
            let reason = stopReason.withLock { $0 }
            for connection in connections.values { requestClose(connection, .goingAway, reason) }
        }
    }

    /// Puts `frame` in `connection`'s outbox (its backlog already counts it) and asks for a writable
    /// callback; an outbox past `--outbox-limit-bytes` is dropped and the connection closed (4008).
    private func queue(_ frame: OutboundFrame, for connection: Connection) {
        guard !connection.closed, connection.pendingClose == nil else {
            connection.backlog.subtract(frame.count, ordering: .relaxed)
            frame.deliveryFinished()
            return
        }
        connection.enqueue(frame)
        adjustOutboxTotal(frame.count)
        if connection.outboxBytes > configuration.outboxLimitBytes {
            ServerMetrics.slowConsumers.increment()
            adjustOutboxTotal(-connection.outboxBytes)
            connection.discardOutbox()
            requestClose(connection, .slowConsumer, "slow consumer")
        } else {
            lws_callback_on_writable(connection.wsi)
        }
    }

    /// Closes `connection` with `code` once its outbox is written; kills it if that takes too long.
    private func requestClose(_ connection: Connection, _ code: CloseCode, _ reason: String) {
        guard !connection.closed, connection.pendingClose == nil else { return }
        connection.pendingClose = (code, reason)
        lws_set_timeout(connection.wsi, PENDING_TIMEOUT_USER_OK, 3)
        lws_callback_on_writable(connection.wsi)
    }

    private func adjustOutboxTotal(_ delta: Int) {
        guard delta != 0 else { return }
        outboxTotal += delta
        ServerMetrics.outboxBytes.record(outboxTotal)
    }
}
