"""Backpressure: a client that stops reading is closed as a slow consumer; nobody else waits for it."""

import asyncio
import json
import socket
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
    srv = server_factory(outbox_limit_bytes=1048576, rate_limit=100000)
    sender = await srv.login("sam", "msl")

    # The stalled member: a raw client with a small receive buffer that says hello, then never reads.
    stalled = RawWS("127.0.0.1", srv.port)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.send_text(json.dumps({"type": "hello", "id": "h", "token": srv.token("rita", "hcp"), "device": "d"}))
    stalled.recv_json_until(lambda frame: frame.get("type") == "synced")
    room = await create_room(sender, "direct", ["rita"])

    deadline = time.monotonic() + 60
    sent = 0
    while slow_consumers(srv) < 1:
        assert time.monotonic() < deadline, f"no slow-consumer close after {sent} messages of 16 kB"
        replies = [await sender.send("msg.send", room=room, body=BODY, client_msg_id=f"m{sent + i}") for i in range(8)]
        for rid in replies:
            assert (await sender.reply(rid, 10))["type"] == "ok"
        sent += len(replies)

    # The server let go of the stalled connection (closing it within its kill timeout) ...
    deadline = time.monotonic() + 15
    while connections(srv) > 1:
        assert time.monotonic() < deadline, "the slow consumer's connection was not closed"
        await asyncio.sleep(0.2)
    stalled.close()
    # ... and the sender, on the same room, was never held up.
    await sender.ok("presence.set", status="away")
    more = await sender.ok("msg.send", room=room, body="still here", client_msg_id="after")
    assert more["seq"] == sent + 1, more
