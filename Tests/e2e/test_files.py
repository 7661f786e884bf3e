"""Files over the wire: upload with a bearer token, share in a message, download by members only,
encryption at rest, Range requests, refusals from the headers alone (401, 413, 415), uploads that
stall or are cut by a crash leave nothing behind, and replay and history carry attachments.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import socket
import time
import urllib.parse

from liaison_helpers import connect_replay, create_room, full_history

MARKER = b"PLAINTEXT-MARKER-7f3a9c"


def upload(srv, tok: str | None, body: bytes, content_type: str = "application/pdf", name: str | None = "report.pdf",
           length: int | None = None) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    headers = {"Content-Type": content_type, "Content-Length": str(len(body) if length is None else length)}
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    if name is not None:
        headers["X-Filename"] = urllib.parse.quote(name)
    conn.request("POST", "/v1/files", body=body, headers=headers)
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, (json.loads(payload) if payload else {})


def download(srv, tok: str | None, file: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    h = dict(headers or {})
    if tok:
        h["Authorization"] = f"Bearer {tok}"
    conn.request("GET", f"/v1/files/{file}", headers=h)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def stored_files(srv) -> list[str]:
    root = srv.data_dir / "files"
    return sorted(p.name for p in root.rglob("*") if p.is_file())


async def shared_file(srv, size: int = 300_000):
    msl = await srv.login("mika", "msl", name="Mika Laine")
    hcp = await srv.login("hana", "hcp", name="Dr Hana Ito")
    room = await create_room(msl, "direct", ["hana"])
    data = MARKER + os.urandom(size - len(MARKER))
    status, _, info = await asyncio.to_thread(upload, srv, srv.token("mika", "msl"), data, "application/pdf", "Étude rénale.pdf")
    assert status == 201, info
    return msl, hcp, room, data, info


async def test_an_upload_shared_in_a_room_downloads_identically_for_another_member(server):
    msl, hcp, room, data, info = await shared_file(server)
    assert info["size"] == len(data) and info["sha256"] == hashlib.sha256(data).hexdigest(), info
    assert info["name"] == "Étude rénale.pdf" and info["content_type"] == "application/pdf", info
    sent = await msl.ok("msg.send", room=room, body="the study", attachments=[{"file": info["file"]}])
    msg = await hcp.next_event("msg", room=room, seq=sent["seq"])
    assert msg["attachments"] == [{k: info[k] for k in ("file", "name", "size", "content_type", "sha256")}], msg
    status, headers, body = await asyncio.to_thread(download, server, server.token("hana", "hcp"), info["file"])
    assert status == 200 and body == data
    assert headers["etag"] == f'"{info["sha256"]}"' and headers["x-content-type-options"] == "nosniff"
    assert headers["content-disposition"].startswith("attachment;") and "filename*=UTF-8''%C3%89tude" in headers["content-disposition"]
    assert headers["content-type"] == "application/pdf"


async def test_a_non_member_another_tenant_and_no_token_cannot_download(server):
    msl, hcp, room, data, info = await shared_file(server)
    await msl.ok("msg.send", room=room, body="", attachments=[{"file": info["file"]}])
    assert (await asyncio.to_thread(download, server, server.token("ben", "msl"), info["file"]))[0] == 404
    assert (await asyncio.to_thread(download, server, server.token("mika", "msl", tenant="t2"), info["file"]))[0] == 404
    assert (await asyncio.to_thread(download, server, server.token("ben", "msl"), "f" + "0" * 24))[0] == 404
    assert (await asyncio.to_thread(download, server, None, info["file"]))[0] == 401
    assert (await asyncio.to_thread(download, server, "not-a-token", info["file"]))[0] == 401


async def test_before_it_is_shared_only_the_uploader_reads_or_attaches_a_file(server):
    msl, hcp, room, data, info = await shared_file(server)
    assert (await asyncio.to_thread(download, server, server.token("hana", "hcp"), info["file"]))[0] == 404
    assert (await asyncio.to_thread(download, server, server.token("mika", "msl"), info["file"]))[0] == 200
    other = await hcp.request("msg.send", room=room, body="mine now", attachments=[{"file": info["file"]}])
    assert other["code"] == "not_found" and other["message"] == f"no file '{info['file']}'", other
    assert (await hcp.ok("room.history", room=room))["messages"] == []


async def test_the_bytes_on_disk_are_not_the_plaintext(server):
    _, _, _, data, info = await shared_file(server)
    blobs = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
    assert blobs and not any(MARKER in p.read_bytes() for p in blobs)
    assert not any(MARKER in p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file())


async def test_range_requests_answer_206_with_the_slice(server):
    msl, hcp, room, data, info = await shared_file(server, size=200_000)
    tok = server.token("mika", "msl")
    status, headers, body = await asyncio.to_thread(download, server, tok, info["file"], {"Range": "bytes=65530-65545"})
    assert status == 206 and body == data[65530:65546], (status, len(body))
    assert headers["content-range"] == f"bytes 65530-65545/{len(data)}"
    status, _, body = await asyncio.to_thread(download, server, tok, info["file"], {"Range": "bytes=-10"})
    assert status == 206 and body == data[-10:]
    status, _, body = await asyncio.to_thread(download, server, tok, info["file"], {"Range": "bytes=199990-"})
    assert status == 206 and body == data[199990:]
    status, headers, _ = await asyncio.to_thread(download, server, tok, info["file"], {"Range": "bytes=900000-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"
    status, _, body = await asyncio.to_thread(download, server, tok, info["file"], {"If-None-Match": f'"{info["sha256"]}"'})
    assert status == 304 and body == b""


def raw_post_headers(srv, content_length: int, content_type: str, tok: str | None) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    lines = [f"POST /v1/files HTTP/1.1", f"Host: 127.0.0.1:{srv.port}", f"Content-Type: {content_type}",
             f"Content-Length: {content_length}"]
    if tok:
        lines.append(f"Authorization: Bearer {tok}")
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return s


def read_status(s: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]) if data else 0


async def test_an_upload_over_the_limit_gets_413_before_its_body_is_sent(server):
    tok = server.token("mika", "msl")
    s = await asyncio.to_thread(raw_post_headers, server, 25 * 1024 * 1024 + 1, "application/pdf", tok)
    assert await asyncio.to_thread(read_status, s) == 413
    s.close()
    assert stored_files(server) == []


async def test_a_type_outside_the_allow_list_gets_415_and_no_token_401(server):
    tok = server.token("mika", "msl")
    status, _, body = await asyncio.to_thread(upload, server, tok, b"<svg/>", "image/svg+xml", "x.svg")
    assert status == 415 and body["error"] == "unsupported_media_type", body
    status, _, body = await asyncio.to_thread(upload, server, None, b"hello", "text/plain", "x.txt")
    assert status == 401, body
    status, _, body = await asyncio.to_thread(upload, server, "bad", b"hello", "text/plain", "x.txt")
    assert status == 401, body
    assert stored_files(server) == []


async def test_an_upload_that_stops_arriving_times_out_and_stores_nothing(server_factory):
    srv = server_factory(extra_args=["--file-timeout", "1"])
    s = await asyncio.to_thread(raw_post_headers, srv, 100_000, "text/plain", srv.token("mika", "msl"))
    s.sendall(b"x" * 70_000)
    await asyncio.sleep(3)
    s.settimeout(5)
    try:
        got = s.recv(4096)
    except ConnectionResetError:
        got = b""
    assert got == b"", got  # the server dropped the connection
    s.close()
    await asyncio.sleep(0.3)
    assert stored_files(srv) == []
    c = await srv.login("mika", "msl")  # the server is fine
    assert c.is_open


async def test_a_crash_mid_upload_leaves_no_file_after_restart(server_factory):
    srv = server_factory()
    s = await asyncio.to_thread(raw_post_headers, srv, 5_000_000, "text/plain", srv.token("mika", "msl"))
    s.sendall(b"y" * 2_000_000)
    await asyncio.sleep(0.5)
    srv.kill()
    s.close()
    again = server_factory.restart(srv)
    assert stored_files(again) == []
    status, _, info = await asyncio.to_thread(upload, again, again.token("mika", "msl"), b"after", "text/plain", "a.txt")
    assert status == 201, info


async def test_attachments_reach_an_offline_member_on_replay_and_in_history(server):
    msl, hcp, room, data, info = await shared_file(server)
    await hcp.close()
    await msl.ok("msg.send", room=room, attachments=[{"file": info["file"]}], client_msg_id="with-file")
    again, msgs = await connect_replay(server, "hana", "hcp")
    assert [m["attachments"][0]["file"] for m in msgs] == [info["file"]], msgs
    assert msgs[0]["body"] == ""
    history = await full_history(msl, room)
    assert history[-1]["attachments"][0]["sha256"] == info["sha256"]


async def test_bad_attachments_are_refused_and_change_nothing(server):
    msl, hcp, room, data, info = await shared_file(server)
    r = await msl.request("msg.send", room=room, malformed=True, attachments=[{"file": info["file"]}] * 2)
    assert r["code"] == "bad_request", r
    r = await msl.request("msg.send", room=room, attachments=[{"file": "f" + "1" * 24}])
    assert r["code"] == "not_found", r
    r = await msl.request("msg.send", room=room, malformed=True, attachments=[{"file": info["file"]}] * 11)
    assert r["code"] == "bad_request", r
    r = await msl.request("msg.send", room=room, malformed=True, body="")
    assert r["code"] == "bad_request", r
    assert (await msl.ok("room.history", room=room))["messages"] == []
    assert msl.is_open


async def test_parallel_uploads_complete_while_chat_keeps_flowing(server):
    msl, hcp, room, _, _ = await shared_file(server, size=1000)
    tok = server.token("mika", "msl")
    blobs = [os.urandom(1_000_000) for _ in range(8)]
    uploads = [asyncio.to_thread(upload, server, tok, b, "application/pdf", f"f{i}.pdf") for i, b in enumerate(blobs)]
    started = time.monotonic()
    chat = [msl.ok("msg.send", room=room, body=f"during {i}") for i in range(20)]
    results = await asyncio.gather(*uploads, *chat)
    assert all(r[0] == 201 and r[2]["sha256"] == hashlib.sha256(b).hexdigest() for r, b in zip(results[:8], blobs))
    assert time.monotonic() - started < 30


async def test_an_upload_at_the_limit_is_stored_and_one_byte_more_is_refused(server_factory):
    srv = server_factory(extra_args=["--max-file-bytes", "1000"])
    tok = srv.token("mika", "msl")
    status, _, info = await asyncio.to_thread(upload, srv, tok, b"a" * 1000, "text/plain", "at.txt")
    assert status == 201 and info["size"] == 1000, info
    status, _, body = await asyncio.to_thread(upload, srv, tok, b"a" * 1001, "text/plain", "over.txt")
    assert status == 413 and body["error"] == "payload_too_large", body
    status, _, body = await asyncio.to_thread(upload, srv, tok, b"", "text/plain", "empty.txt")
    assert status == 201 and body["size"] == 0 and body["sha256"] == hashlib.sha256(b"").hexdigest(), body
    status, _, data = await asyncio.to_thread(download, srv, tok, body["file"])
    assert status == 200 and data == b""
