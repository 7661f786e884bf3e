"""Frame limits, fragmentation, UTF-8 validity."""

import json

import pytest
import websockets


def padded_presence_set(rid: str, total: int, status: str = "away", note: str = "pad") -> str:
    """A valid presence.set whose JSON text is exactly `total` bytes, padded with
    insignificant whitespace (no long values, no unknown fields)."""
    head = f'{{"type":"presence.set","id":"{rid}","status":"{status}",'
    tail = f'"note":"{note}"}}'
    pad = total - len(head) - len(tail)
    assert pad >= 0
    text = head + " " * pad + tail
    assert len(text.encode()) == total
    json.loads(text)
    return text


async def test_frame_over_max_frame_bytes_closes_1009(server_factory):
    srv = server_factory(max_frame_bytes=1024)
    c = await srv.login("u1", "msl")
    await c.send_raw(padded_presence_set("big1", 2000))
    code = await c.wait_closed()
    assert code == 1009, f"expected close 1009, got {code}"
    assert not c.replies.get("big1"), "an oversize frame must not be answered"


@pytest.mark.parametrize("size", [70_000, 256 * 1024, 1024 * 1024, 16 * 1024 * 1024],
                         ids=["70KB", "256KiB", "1MiB", "16MiB"])
async def test_oversize_message_of_any_size_closes_1009(server, size):
    """Against the default 64 KiB limit: the server sends its close frame and keeps reading (and
    discarding) until the client's close, so the client sees 1009, not a reset (1006)."""
    c = await server.login("u1", "msl")
    try:
        await c.send_raw(padded_presence_set("big1", size))
    except websockets.exceptions.ConnectionClosed:
        pass  # the close may arrive while the client is still sending
    code = await c.wait_closed(timeout=30)
    assert code == 1009, f"expected close 1009 for a {size}-byte message, got {code}"
    assert not c.replies.get("big1")


async def test_oversize_message_in_fragments_closes_1009(server):
    c = await server.login("u1", "msl")
    text = padded_presence_set("big2", 300_000)
    try:
        await c.send_raw([text[i : i + 4096] for i in range(0, len(text), 4096)])
    except websockets.exceptions.ConnectionClosed:
        pass  # the server's close may arrive before the last fragments are sent
    code = await c.wait_closed(timeout=30)
    assert code == 1009, f"expected close 1009 for a fragmented oversize message, got {code}"


async def test_other_connections_survive_an_oversize_message(server):
    c = await server.login("u1", "msl")
    other = await server.login("u2", "msl")
    try:
        await c.send_raw(padded_presence_set("big3", 1024 * 1024))
    except websockets.exceptions.ConnectionClosed:
        pass
    assert await c.wait_closed(timeout=30) == 1009
    await other.ok("presence.set", status="away")
    assert other.is_open


async def test_frame_just_under_max_frame_bytes_is_answered(server_factory):
    srv = server_factory(max_frame_bytes=1024)
    c = await srv.login("u1", "msl")
    w = await srv.login("w1", "msl")
    await w.ok("presence.watch", users=["u1"])
    await c.send_raw(padded_presence_set("small1", 1000, status="busy", note="under"))
    r = await c.reply("small1")
    assert r["type"] == "ok", r
    ev = await w.next_event("presence", user="u1", status="busy")
    assert ev["note"] == "under"
    assert c.is_open
    await c.ok("presence.set", status="online")


async def test_large_message_in_fragments_is_reassembled_and_answered(server):
    c = await server.login("u1", "msl")
    w = await server.login("w1", "msl")
    await w.ok("presence.watch", users=["u1"])
    text = padded_presence_set("frag1", 20000, status="busy", note="fragmented")
    chunks = [text[i : i + 1500] for i in range(0, len(text), 1500)]
    assert len(chunks) > 10
    await c.send_raw(chunks)  # websockets sends an iterable as one fragmented message
    r = await c.reply("frag1")
    assert r["type"] == "ok", r
    assert len(c.replies["frag1"]) == 1
    ev = await w.next_event("presence", user="u1", status="busy")
    assert ev["note"] == "fragmented"
    # no stray errors from treating fragments as messages
    assert not c.pending("error"), c.pending("error")
    await c.ok("presence.set", status="online")


async def test_invalid_utf8_in_text_frame_closes_1007(server):
    c = await server.login("u1", "msl")
    await c.ws.send(b"\xff\xfe", text=True)  # a Text frame whose payload is not UTF-8
    code = await c.wait_closed()
    assert code == 1007, f"expected close 1007, got {code}"
