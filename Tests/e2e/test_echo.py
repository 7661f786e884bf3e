"""The echo path (`--echo-path`): every message back as it came, through the same connection code
as /ws (reassembly, size limit, UTF-8 check, close handling). What Autobahn|Testsuite drives."""

import asyncio
import json

import pytest
import websockets

from liaison_helpers import run_cli


async def open_echo(srv, path: str = "/echo"):
    return await websockets.connect(srv.url.replace("/ws", path), max_size=None, compression=None)


async def test_echo_path_is_off_by_default(server):
    ws = await open_echo(server)
    await ws.send("hello")
    reply = await asyncio.wait_for(ws.recv(), 5)
    assert '"type":"error"' in reply and "bad_request" in reply, reply  # a session, not an echo
    await ws.close()


async def test_text_and_binary_messages_come_back_as_they_were(server_factory):
    srv = server_factory(echo_path="/echo")
    ws = await open_echo(srv)
    for message in ["", "hello", "ünïcödé ✓ 🩺", b"\x00\x01\xfe\xff", b""]:
        await ws.send(message)
        assert await asyncio.wait_for(ws.recv(), 5) == message
    await ws.close()
    assert ws.close_code == 1000


async def test_a_fragmented_message_comes_back_whole(server_factory):
    srv = server_factory(echo_path="/echo")
    ws = await open_echo(srv)
    parts = [f"part{i}-" * 100 for i in range(20)]
    await ws.send(parts)
    assert await asyncio.wait_for(ws.recv(), 5) == "".join(parts)
    await ws.close()


async def test_pings_are_answered(server_factory):
    srv = server_factory(echo_path="/echo")
    ws = await open_echo(srv)
    latency = await asyncio.wait_for(await ws.ping(b"payload"), 5)
    assert latency >= 0
    await ws.close()


async def test_the_size_limit_and_utf8_check_apply(server_factory):
    srv = server_factory(echo_path="/echo", max_frame_bytes=1024)
    ws = await open_echo(srv)
    await ws.send("x" * 1024)
    assert len(await asyncio.wait_for(ws.recv(), 5)) == 1024
    try:
        await ws.send("x" * 5000)
    except websockets.exceptions.ConnectionClosed:
        pass
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1009

    ws = await open_echo(srv)
    await ws.send(b"\xff\xfe not utf-8", text=True)
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1007


async def test_the_session_endpoint_is_unchanged_beside_it(server_factory):
    srv = server_factory(echo_path="/echo")
    c = await srv.login("u1", "msl")
    await c.ok("presence.set", status="away")


async def test_an_echo_client_that_never_reads_is_closed_at_the_outbox_limit(server_factory):
    srv = server_factory(echo_path="/echo", outbox_limit_bytes=200_000)
    ws = await open_echo(srv)
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        for _ in range(100):
            await ws.send("x" * 300_000)  # each echo alone is over the limit; nothing is read
        await asyncio.wait_for(ws.recv(), 5)
    for _ in range(50):  # the server lets go of the connection
        _, _, body = await asyncio.to_thread(srv.get, "/healthz")
        if json.loads(body)["connections"] == 0:
            break
        await asyncio.sleep(0.1)
    assert json.loads(body)["connections"] == 0, body


@pytest.mark.parametrize("flags, message", [
    (["--echo-path", "echo"], "--echo-path must be a path starting with / other than /ws"),
    (["--echo-path", "/ws"], "--echo-path must be a path starting with / other than /ws"),
    (["--compression", "maybe"], "--compression must be off or on"),
], ids=["relative", "the-session-path", "compression-value"])
def test_serve_refuses_a_bad_echo_path_or_compression_value(tmp_path, flags, message):
    result = run_cli("serve", "--port", "0", "--tls-port", "0", "--data-dir", str(tmp_path), *flags, timeout=10)
    assert result.returncode != 0, result
    assert message in result.stderr + result.stdout, result.stderr
