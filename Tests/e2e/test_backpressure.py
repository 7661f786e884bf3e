"""Backpressure: a client that stops reading is closed as a slow consumer; nobody else waits for it."""

import asyncio
import json
import socket
import struct
import time

from liaison_helpers import RawWS, create_room, http_get, metric_sum, parse_prometheus

BODY = "x" * 16000  # just under the 16 KiB body limit


def slow_consumers(srv) -> float:
    _, _, body = http_get(srv.http + "/metrics")
    return metric_sum(parse_prometheus(body.decode()), "liaison_slow_consumers_total") or 0


def connections(srv) -> int:
    _, _, body = http_get(srv.http + "/healthz")
    return json.loads(body)["connections"]


async def test_a_member_that_stops_reading_is_closed_as_a_slow_consumer_and_the_sender_is_unaffected(server_factory):
    """The stalled member gets close code 4008 on the wire (read once it drains its socket); the
    sender, in the same room, is never held up."""
    # heartbeat 30: the stalled client answers no pings, so only a slow-consumer close can end it here.
    srv = server_factory(outbox_limit_bytes=1048576, rate_limit=100000, heartbeat=30)
    sender = await srv.login("sam", "msl")

    # The stalled member: a raw client with a small receive buffer that says hello, then never reads.
    stalled = RawWS("127.0.0.1", srv.port)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.send_text(json.dumps({"type": "hello", "id": "h", "token": srv.token("rita", "hcp"), "device": "d"}))
    stalled.recv_json_until(lambda frame: frame.get("type") == "synced")
    room = await create_room(sender, "direct", ["rita"])
    assert slow_consumers(srv) == 0

    deadline = time.monotonic() + 60
    sent = 0
    while slow_consumers(srv) < 1:
        assert time.monotonic() < deadline, f"no slow-consumer close after {sent} messages of 16 kB"
        replies = [await sender.send("msg.send", room=room, body=BODY, client_msg_id=f"m{sent + i}") for i in range(8)]
        for rid in replies:
            assert (await sender.reply(rid, 10))["type"] == "ok"
        sent += len(replies)

    # Drain the stalled socket now: what the server wrote before giving up, then its close frame.
    # (Through the 4 KiB window the megabytes in flight would trickle in for ~100 s: open it up.)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    close_frame, msgs, other = None, 0, []
    deadline = time.monotonic() + 15
    try:
        for _ in range(100000):
            frame = stalled.recv_frame(max(0.1, deadline - time.monotonic()))
            assert frame is not None, (
                f"the slow consumer's connection ended without a close frame after {msgs} msg frames ({other[:5]})"
            )
            op, payload = frame
            if op == 0x8:
                close_frame = payload
                break
            if op == 0x1 and json.loads(payload).get("type") == "msg":
                msgs += 1
            else:
                other.append((op, payload[:80]))
        else:
            raise AssertionError("no close frame within 100000 frames")
    except TimeoutError:
        raise AssertionError(f"no close frame within 15 s after {msgs} msg frames ({other[:5]})")
    assert len(close_frame) >= 2, f"close frame without a code: {close_frame!r}"
    code = struct.unpack("!H", close_frame[:2])[0]
    reason = close_frame[2:].decode(errors="replace")
    assert (code, reason) == (4008, "slow consumer"), f"close frame {code} {reason!r} after {msgs} msg frames"
    assert 0 < msgs < sent, f"{msgs} of {sent} messages reached the stalled member before the close"
    try:
        stalled.send_frame(0x8, close_frame[:2])   # answer the close handshake
    except OSError:
        pass
    stalled.close()
    assert slow_consumers(srv) == 1

    # The server let go of the stalled connection ...
    deadline = time.monotonic() + 15
    while connections(srv) > 1:
        assert time.monotonic() < deadline, "the slow consumer's connection was not closed"
        await asyncio.sleep(0.2)
    # ... and the sender, on the same room, was never held up.
    await sender.ok("presence.set", status="away")
    more = await sender.ok("msg.send", room=room, body="still here", client_msg_id="after")
    assert more["seq"] == sent + 1, more
