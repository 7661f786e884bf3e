"""permessage-deflate (RFC 7692) with `--compression on`: negotiated only when on and offered, and
messages flow both ways intact, whatever context-takeover the client uses."""

import asyncio
import json

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from liaison_helpers import SUBPROTOCOL


async def connect(srv, **kw):
    return await websockets.connect(srv.url, subprotocols=[SUBPROTOCOL], max_size=None, **kw)


async def hello(srv, ws, user):
    await ws.send(json.dumps({"type": "hello", "id": "h", "token": srv.token(user, "msl"), "device": "d"}))
    while json.loads(await asyncio.wait_for(ws.recv(), 5)).get("type") != "synced":
        pass


async def reply(ws, rid):
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame.get("id") == rid:
            return frame


async def test_compression_is_off_by_default(server):
    ws = await connect(server)
    assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
    await ws.close()


async def test_compression_is_negotiated_when_on_and_offered(server_factory):
    srv = server_factory(compression="on")
    ws = await connect(srv)
    assert ws.response.headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate")
    await ws.close()
    plain = await connect(srv, compression=None)
    assert plain.response.headers.get("Sec-WebSocket-Extensions") is None
    await hello(srv, plain, "u0")
    await plain.close()


async def test_compressed_messages_flow_both_ways_intact(server_factory):
    srv = server_factory(compression="on", rate_limit=10000)
    no_takeover = ClientPerMessageDeflateFactory(client_no_context_takeover=True, server_no_context_takeover=True)
    a = await connect(srv)  # context takeover both ways (the client's default)
    b = await connect(srv, extensions=[no_takeover], compression=None)
    await hello(srv, a, "u1")
    await hello(srv, b, "u2")
    await a.send(json.dumps({"type": "room.create", "id": "r", "kind": "group", "members": ["u2"]}))
    room = (await reply(a, "r"))["room"]
    bodies = [f"message {i}: " + "the same words again and again " * (i % 7 + 1) for i in range(40)]
    for i, body in enumerate(bodies):
        sender = a if i % 2 == 0 else b
        await sender.send(json.dumps({"type": "msg.send", "id": f"m{i}", "room": room, "body": body}))
    for ws in (a, b):
        got, oks = [], 0
        while len(got) < len(bodies) or oks < len(bodies) // 2:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if frame.get("type") == "msg":
                got.append(frame["body"])
            elif frame.get("type") == "ok":
                oks += 1
            else:
                assert frame.get("type") == "room.member", frame
        assert sorted(got) == sorted(bodies)
    await a.close()
    await b.close()


async def test_large_messages_come_back_intact_when_compressed(server_factory):
    """lws compresses a large message over several writable turns, reading from the frame's buffer:
    the frame must outlive the write call (a freed buffer once came back as garbage)."""
    import random

    # An outbox large enough for the 30 echoes queued while the client is still sending.
    # A heartbeat long enough that pongs stuck behind the client's own large sends do not count as silence.
    srv = server_factory(compression="on", echo_path="/echo", max_frame_bytes=1 << 20, outbox_limit_bytes=64 << 20,
                         heartbeat=30)
    ws = await websockets.connect(srv.url.replace("/ws", "/echo"), max_size=None)
    rng = random.Random(7)
    # Many in a row: a freed buffer is soon reused by the next messages.
    messages = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(size))
                for size in [70_000, 131_072, 300_000] * 10]
    for message in messages:
        await ws.send(message)
    for message in messages:
        assert await asyncio.wait_for(ws.recv(), 10) == message
    await ws.close()
