"""Helpers for the Liaison end-to-end acceptance tests.

Everything here talks to the real server binary over the wire, judged against
/work/shared/protocol.md (wire protocol v1). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import jwt
import websockets
from websockets.exceptions import ConnectionClosed

from protocol_schema import protocol_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBPROTOCOL = "liaison.v1"

# Default bounded waits (seconds).
REPLY_TIMEOUT = 5.0
EVENT_TIMEOUT = 3.0
CLOSE_TIMEOUT = 5.0


def liaison_bin() -> Path:
    p = Path(os.environ.get("LIAISON_BIN", ".build/debug/liaison"))
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- tokens


def token(
    secret: str | None,
    sub: str | None,
    role: str | None,
    tenant: str | None,
    name: str | None = None,
    areas: list[str] | None = None,
    ttl: int = 600,
    alg: str = "HS256",
    omit: tuple[str, ...] = (),
    extra: dict | None = None,
) -> str:
    """Mint a JWT independently of the server (PyJWT).

    Claims whose value is None are left out, as are those named in `omit`.
    `alg="none"` produces an unsigned token.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role,
        "tenant": tenant,
        "name": name if name is not None else (sub.capitalize() if sub else None),
        "areas": areas if areas is not None else [],
        "iat": now,
        "exp": now + ttl,
    }
    claims = {k: v for k, v in claims.items() if v is not None and k not in omit}
    if extra:
        claims.update(extra)
    if alg == "none":
        return jwt.encode(claims, None, algorithm="none")
    return jwt.encode(claims, secret, algorithm=alg)


# --------------------------------------------------------------------------- HTTP


def http_get(url: str, timeout: float = 3.0) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def parse_prometheus(text: str) -> dict[str, float]:
    """Map 'name{labels}' (exactly as written) -> value, skipping comments."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)(?:\s+\d+)?$", line)
        if m:
            try:
                out[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
    return out


def metric_sum(samples: dict[str, float], name: str) -> float | None:
    vals = [v for k, v in samples.items() if k == name or k.startswith(name + "{")]
    return sum(vals) if vals else None


# --------------------------------------------------------------------------- client


class Client:
    """A protocol client over the third-party `websockets` library.

    A reader task collects every frame: replies (ok/error with an id) are
    filed by id, everything else (events, and id-less error replies such as
    the answer to malformed JSON) goes to the `events` list in arrival order.

    Every frame is checked against the protocol's JSON Schema (docs/schema):
    a request sent with `send_json` (and so `send`, `request`, `ok`, `error`)
    must match client-frame.json or the send fails; every frame received must
    match server-frame.json (an `ok` also its request's `replies/<type>.json`),
    and those that do not are listed in `schema_violations`, which fail the
    test (conftest.py). Frames a test breaks on purpose are sent unchecked:
    `send(..., malformed=True)` or `send_raw`.
    """

    _ids = itertools.count(1)

    # A deliberately slow reader: after every `read_pause_every` frames, sleep `read_pause`
    # seconds before reading on (0: read as fast as frames come). Set them on an instance.
    read_pause_every = 0
    read_pause = 0.0

    def __init__(self, ws, label: str = ""):
        self.ws = ws
        self.label = label
        self.frames: list[Any] = []          # everything received, in order
        self.replies: dict[str, list[dict]] = {}
        self.events: list[dict] = []
        self.request_types: dict[str, str] = {}  # id -> type of each request sent with send_json
        self.schema_violations: list[str] = []   # received frames that broke server-frame.json
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    # ---- plumbing

    @classmethod
    async def connect(cls, url: str, label: str = "", subprotocols=(SUBPROTOCOL,), **kw) -> "Client":
        ws = await websockets.connect(
            url,
            subprotocols=list(subprotocols) if subprotocols else None,
            compression=None,
            ping_interval=None,       # the server pings; the library answers them
            max_size=None,
            open_timeout=5,
            close_timeout=2,
            **kw,
        )
        return cls(ws, label)

    def _notify(self) -> None:
        ev, self._changed = self._changed, asyncio.Event()
        ev.set()

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if isinstance(msg, bytes):
                    frame: Any = {"_binary": msg}
                else:
                    try:
                        frame = json.loads(msg)
                    except ValueError:
                        frame = {"_unparsable": msg}
                self.frames.append(frame)
                self._check_received(frame)
                if (
                    isinstance(frame, dict)
                    and frame.get("type") in ("ok", "error")
                    and isinstance(frame.get("id"), str)
                ):
                    self.replies.setdefault(frame["id"], []).append(frame)
                else:
                    self.events.append(frame if isinstance(frame, dict) else {"_frame": frame})
                self._notify()
                if self.read_pause_every and len(self.frames) % self.read_pause_every == 0:
                    await asyncio.sleep(self.read_pause)
        except ConnectionClosed:
            pass
        except Exception as e:  # pragma: no cover - diagnostic
            self.events.append({"_reader_error": repr(e)})
        finally:
            self.closed.set()
            self._notify()

    def _check_received(self, frame: Any) -> None:
        """Note a received frame that is not a valid reply or event (server-frame.json)."""
        rid = frame.get("id") if isinstance(frame, dict) else None
        problem = protocol_schema().server_frame_error(frame, self.request_types.get(rid))
        if problem:
            self.schema_violations.append(f"[{self.label}] received {problem}")

    async def _wait(self, predicate: Callable[[], Any], timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            r = predicate()
            if r:
                return r
            if self.closed.is_set():
                raise AssertionError(
                    f"[{self.label}] connection closed (code {self.close_code}) while waiting for {what}; "
                    f"received: {self.frames[-10:]}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"[{self.label}] timed out after {timeout}s waiting for {what}; received: {self.frames[-10:]}"
                )
            ev = self._changed
            try:
                await asyncio.wait_for(ev.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    @property
    def is_open(self) -> bool:
        return not self.closed.is_set()

    # ---- sending

    def new_id(self) -> str:
        return f"r{next(Client._ids)}"

    async def send_json(self, obj: dict) -> None:
        """Send a request, which must match client-frame.json."""
        problem = protocol_schema().client_frame_error(obj)
        assert problem is None, f"[{self.label}] tried to send {problem}"
        self.request_types[obj["id"]] = obj["type"]
        await self.ws.send(json.dumps(obj))

    async def send_raw(self, data) -> None:
        """Send `data` as it is (text, bytes, or an iterable of fragments), without the schema check."""
        await self.ws.send(data)

    async def send(self, type_: str, id: str | None = None, malformed: bool = False, **fields) -> str:
        """Send request `type_` with `fields`; return its id. `malformed=True` marks a request a test
        breaks on purpose: it must not match client-frame.json, and is sent unchecked."""
        rid = id or self.new_id()
        frame = {"type": type_, "id": rid, **fields}
        if not malformed:
            await self.send_json(frame)
            return rid
        assert protocol_schema().client_frame_error(frame), (
            f"[{self.label}] {frame} is marked malformed but matches client-frame.json"
        )
        await self.send_raw(json.dumps(frame))
        return rid

    async def reply(self, rid: str, timeout: float = REPLY_TIMEOUT) -> dict:
        """Wait for the (first) reply carrying id `rid`."""
        got = await self._wait(lambda: self.replies.get(rid), timeout, f"reply to id {rid!r}")
        return got[0]

    async def request(self, type_: str, timeout: float = REPLY_TIMEOUT, **fields) -> dict:
        rid = await self.send(type_, **fields)
        return await self.reply(rid, timeout)

    async def ok(self, type_: str, timeout: float = REPLY_TIMEOUT, **fields) -> dict:
        r = await self.request(type_, timeout, **fields)
        assert r.get("type") == "ok", f"[{self.label}] {type_} {fields} expected ok, got {r}"
        return r

    async def error(
        self, type_: str, code: str, timeout: float = REPLY_TIMEOUT, malformed: bool = False, **fields
    ) -> dict:
        """Send request `type_` and assert it is refused with `code` (`malformed`: see `send`)."""
        rid = await self.send(type_, malformed=malformed, **fields)
        r = await self.reply(rid, timeout)
        assert r.get("type") == "error", f"[{self.label}] {type_} {fields} expected error {code}, got {r}"
        assert r.get("code") == code, f"[{self.label}] {type_} {fields} expected error {code}, got {r}"
        assert r.get("id") == rid
        return r

    # ---- events

    @staticmethod
    def _matches(ev: dict, type_: str | None, match: dict) -> bool:
        if type_ is not None and ev.get("type") != type_:
            return False
        return all(ev.get(k) == v for k, v in match.items())

    async def next_event(self, type_: str | None, timeout: float = EVENT_TIMEOUT, **match) -> dict:
        """Pop and return the first received event of `type_` whose fields equal `match`."""

        def find():
            for i, ev in enumerate(self.events):
                if self._matches(ev, type_, match):
                    return (self.events.pop(i),)
            return None

        return (await self._wait(find, timeout, f"event {type_} {match}"))[0]

    def pending(self, type_: str | None = None, **match) -> list[dict]:
        return [ev for ev in self.events if self._matches(ev, type_, match)]

    async def no_event(self, type_: str | None, within: float, **match) -> None:
        """Assert no event of `type_` matching `match` arrives (or is pending) within `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            bad = self.pending(type_, **match)
            assert not bad, f"[{self.label}] unexpected event(s) {bad}"
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed.is_set():
                bad = self.pending(type_, **match)
                assert not bad, f"[{self.label}] unexpected event(s) {bad}"
                return
            ev = self._changed
            try:
                await asyncio.wait_for(ev.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    # ---- session

    async def hello(self, tok: str, device: str = "dev1", client: str = "liaison-e2e/1", timeout: float = REPLY_TIMEOUT) -> dict:
        r = await self.request("hello", timeout, token=tok, device=device, client=client)
        assert r.get("type") == "ok", f"[{self.label}] hello expected ok, got {r}"
        await self.next_event("synced", timeout)
        return r

    async def wait_closed(self, timeout: float = CLOSE_TIMEOUT) -> int | None:
        """Wait (bounded) until the server closes; return the close code seen."""
        try:
            await asyncio.wait_for(self.closed.wait(), timeout)
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        if timed_out:
            raise AssertionError(
                f"[{self.label}] connection still open after {timeout}s; received: {self.frames[-10:]}"
            )
        try:
            await asyncio.wait_for(self.ws.wait_closed(), 3)
        except asyncio.TimeoutError:
            pass
        return self.ws.close_code

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), 3)
        except Exception:
            pass
        self._reader.cancel()
        try:
            await asyncio.wait_for(self._reader, 1)
        except BaseException:
            pass


# --------------------------------------------------------------------------- raw socket client


class RawWS:
    """A minimal RFC 6455 client over a plain socket, for what `websockets`
    would do for us automatically (e.g. answering pings)."""

    def __init__(self, host: str, port: int, path: str = "/ws", protocol: str | None = SUBPROTOCOL, timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if protocol:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in buf:
            if time.monotonic() > deadline:
                raise AssertionError("raw handshake timed out")
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"raw handshake: connection closed, got {buf!r}")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        assert b" 101 " in status + b" ", f"raw handshake failed: {head!r}"
        self.buf = rest

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", b0, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text: str | bytes) -> None:
        self.send_frame(0x1, text.encode() if isinstance(text, str) else text)

    def _read_exact(self, n: int, deadline: float) -> bytes | None:
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self, timeout: float = 5.0):
        """Return (opcode, payload), or None on EOF. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        h = self._read_exact(2, deadline)
        if h is None:
            return None
        b0, b1 = h
        n = b1 & 0x7F
        if n == 126:
            x = self._read_exact(2, deadline)
            if x is None:
                return None
            n = struct.unpack("!H", x)[0]
        elif n == 127:
            x = self._read_exact(8, deadline)
            if x is None:
                return None
            n = struct.unpack("!Q", x)[0]
        if b1 & 0x80:
            m = self._read_exact(4, deadline)
            if m is None:
                return None
        payload = self._read_exact(n, deadline) if n else b""
        if payload is None:
            return None
        if b1 & 0x80:
            payload = bytes(b ^ m[i % 4] for i, b in enumerate(payload))
        return (b0 & 0x0F, payload)

    def recv_json_until(self, pred: Callable[[dict], bool], timeout: float = 5.0, answer_pings: bool = True) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                raise AssertionError("raw: connection closed")
            op, payload = f
            if op == 0x9 and answer_pings:
                self.send_frame(0xA, payload)
            elif op == 0x1:
                obj = json.loads(payload)
                if pred(obj):
                    return obj
            elif op == 0x8:
                raise AssertionError(f"raw: close frame {payload!r}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------- server process


class Server:
    """One running `liaison serve --port 0` process; its port is read from the start-up banner."""

    _n = itertools.count(1)
    _banner = re.compile(rb"ws +ws://127\.0\.0\.1:(\d+)/ws")

    def __init__(self, bin_path: Path, workdir: Path, args: list[str], secret: str, data_dir: Path, registry: list):
        self.bin = bin_path
        self.port = None
        self.host = "127.0.0.1"
        self.secret = secret
        self.data_dir = data_dir
        self.url = None
        self.http = None
        self.args = args
        n = next(Server._n)
        self.log_path = workdir / f"server-{n}.log"
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(bin_path), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(workdir),
        )
        self._clients = registry

    # ---- lifecycle

    def _read_port(self) -> bool:
        match = Server._banner.search(self.log_path.read_bytes())
        if not match:
            return False
        self.port = int(match.group(1))
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.http = f"http://127.0.0.1:{self.port}"
        return True

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited early with {self.process.returncode}: {' '.join(self.args)}\n{self.log_tail()}"
                )
            if self.port is None and not self._read_port():
                time.sleep(0.05)
                continue
            try:
                status, _, _ = http_get(self.http + "/healthz", timeout=1)
                if status == 200:
                    return
                last = status
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise AssertionError(f"server not healthy within {timeout}s (last: {last})\n{self.log_tail()}")

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill(self, timeout: float = 10.0) -> int:
        """SIGKILL the server (no clean shutdown) and wait, bounded, for it to be gone."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout)
        return self.process.returncode

    def stop_clean(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait (bounded) for a clean exit; fails if the server does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"server did not exit within {timeout}s of SIGTERM\n{self.log_tail()}")
        return self.process.returncode

    def stop(self, timeout: float = 5.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        try:
            self._log.close()
        except OSError:
            pass
        return self.process.returncode

    def log_tail(self, n: int = 60) -> str:
        try:
            self._log.flush()
        except (OSError, ValueError):
            pass
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-n:])

    # ---- protocol helpers

    def token(self, sub: str, role: str, tenant: str = "t1", **kw) -> str:
        return token(self.secret, sub, role, tenant, **kw)

    async def connect(self, label: str = "", **kw) -> Client:
        c = await Client.connect(self.url, label=label, **kw)
        self._clients.append(c)
        return c

    async def login(
        self,
        sub: str,
        role: str = "msl",
        tenant: str = "t1",
        device: str = "dev1",
        name: str | None = None,
        areas: list[str] | None = None,
    ) -> Client:
        """Connect, hello (asserting ok) and wait for `synced`."""
        c = await self.connect(label=f"{tenant}/{sub}/{device}")
        c.hello_reply = await c.hello(self.token(sub, role, tenant, name=name, areas=areas), device=device)
        return c

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return http_get(self.http + path)

    def run_cli(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )

    @property
    def audit_log(self) -> Path:
        return self.data_dir / "audit.log"


def run_cli(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(liaison_bin()), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


PRESENCE_FIELDS = {"user", "status", "note", "devices", "last_seen"}


# --------------------------------------------------------------------------- rooms and chat


def member_ids(members) -> set[str]:
    """`members` of a room.list entry as a set of user ids (strings, or objects with `user`)."""
    out = set()
    for m in members:
        out.add(m["user"] if isinstance(m, dict) else m)
    return out


async def create_room(c: Client, kind: str, members: list[str], title: str | None = None) -> str:
    fields: dict[str, Any] = {"kind": kind, "members": members}
    if title is not None:
        fields["title"] = title
    r = await c.ok("room.create", **fields)
    room = r.get("room")
    assert isinstance(room, str) and room, f"room.create ok without a room id: {r}"
    return room


async def send_msg(c: Client, room: str, body: str, cmid: str | None = None, timeout: float = REPLY_TIMEOUT) -> dict:
    cmid = cmid or f"cm-{os.urandom(6).hex()}"
    r = await c.ok("msg.send", timeout, room=room, body=body, client_msg_id=cmid)
    r["client_msg_id"] = cmid
    return r


async def send_many(
    c: Client, room: str, n: int, prefix: str = "m", window: int = 32, timeout: float = 60.0
) -> list[dict]:
    """Send `n` messages (bodies/client_msg_ids `{prefix}-{i}`), at most `window` unanswered at a
    time; return the `ok` replies in send order (each with the client_msg_id added)."""
    deadline = time.monotonic() + timeout
    rids: list[tuple[str, str]] = []
    done = 0
    for i in range(n):
        cmid = f"{prefix}-{i}"
        rid = await c.send("msg.send", room=room, body=f"{prefix} body {i}", client_msg_id=cmid)
        rids.append((rid, cmid))
        while len(rids) - done >= window:
            await c.reply(rids[done][0], max(0.1, deadline - time.monotonic()))
            done += 1
    out = []
    for rid, cmid in rids:
        r = await c.reply(rid, max(0.1, deadline - time.monotonic()))
        assert r.get("type") == "ok", f"[{c.label}] msg.send {cmid} expected ok, got {r}"
        r = dict(r)
        r["client_msg_id"] = cmid
        out.append(r)
    return out


async def full_history(c: Client, room: str, max_pages: int = 500, timeout: float = 10.0) -> list[dict]:
    """Every message of `room`, oldest first, paging back with `before` (limit 100)."""
    pages: list[list[dict]] = []
    before = None
    for _ in range(max_pages):
        fields: dict[str, Any] = {"room": room, "limit": 100}
        if before is not None:
            fields["before"] = before
        r = await c.ok("room.history", timeout, **fields)
        msgs = r.get("messages")
        assert isinstance(msgs, list), f"room.history without a messages list: {r}"
        if not msgs:
            break
        pages.append(msgs)
        first = msgs[0]["seq"]
        if first <= 1:
            break
        if before is not None:
            assert first < before, f"history paging did not move back: before={before}, got first seq {first}"
        before = first
    else:
        raise AssertionError(f"history of {room} did not end within {max_pages} pages")
    out: list[dict] = []
    for page in reversed(pages):
        out.extend(page)
    return out


async def connect_replay(srv: "Server", sub: str, role: str = "msl", tenant: str = "t1", device: str = "dev1",
                         timeout: float = 30.0) -> tuple[Client, list[dict]]:
    """Connect and hello; wait (bounded) for `synced`; return the client and the `msg` events
    that arrived before `synced`, in arrival order."""
    c = await srv.connect(label=f"{tenant}/{sub}/{device}")
    r = await c.request("hello", timeout, token=srv.token(sub, role, tenant), device=device, client="liaison-e2e/1")
    assert r.get("type") == "ok", f"hello expected ok, got {r}"
    await c.next_event("synced", timeout)
    idx = next(i for i, f in enumerate(c.frames) if isinstance(f, dict) and f.get("type") == "synced")
    msgs = [f for f in c.frames[:idx] if isinstance(f, dict) and f.get("type") == "msg"]
    return c, msgs
