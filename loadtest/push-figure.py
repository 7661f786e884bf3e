#!/usr/bin/env python3
"""Issue 12's push figures, against a fresh release server and a local push gateway.

1. Push latency: FMDS offline FMDs of one area, each with a pusher; one HCP asks a MOD question.
   Latency = the mod.request sent → the gateway receiving each FMD's POST (p50, p99, max).
2. The hot path with push: `liaison-loadtest chat` three times — rooms of 2 connected members
   (none offline), the same rooms plus 2 offline members each with a pusher (half the recipients
   offline, the push path active), and plus 2 offline members without pushers (same recipients,
   no push path) — acked msgs/s of each.

Usage: loadtest/push-figure.py [--fmds 1000] [--duration 10] [--bin .build/release]
Needs the release build (swift build -c release) and the e2e venv (websockets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
import jwt  # noqa: E402
import websockets  # noqa: E402

SECRET = "push-figure"


class Gateway(ThreadingHTTPServer):
    """Records when each notification arrives; answers 200 at once (keep-alive)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.arrivals.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "15")
                self.end_headers()
                self.wfile.write(b'{"rejected":[]}')

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary: Path, gateway: Gateway, log: Path) -> tuple[subprocess.Popen, int, str]:
    port = free_port()
    data = tempfile.mkdtemp(prefix="liaison-push-figure-")
    proc = subprocess.Popen(
        [str(binary), "serve", "--port", str(port), "--tls-port", "0", "--data-dir", data, "--jwt-secret", SECRET,
         "--rate-limit", "1000000", "--push-gateway", f"bench={gateway.url}"],
        stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc, port, data
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the server did not start: see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(30)


def token(sub: str, role: str, **extra) -> str:
    claims = {"sub": sub, "role": role, "tenant": "bench", "exp": int(time.time()) + 3600, **extra}
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def session(url: str, sub: str, role: str, **extra):
    ws = await websockets.connect(url, subprotocols=["liaison.v1"], max_size=None)
    await ws.send(json.dumps({"type": "hello", "id": "h", "token": token(sub, role, **extra), "device": "phone"}))
    while json.loads(await ws.recv()).get("type") != "synced":
        pass
    return ws


async def request(ws, type_: str, **fields) -> dict:
    await ws.send(json.dumps({"type": type_, "id": "q", **fields}))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("id") == "q":
            assert frame["type"] == "ok", frame
            return frame


async def latency(url: str, gateway: Gateway, fmds: int) -> dict:
    gate = asyncio.Semaphore(100)

    async def offline_fmd(n: int) -> None:
        async with gate:
            ws = await session(url, f"fmd{n}", "fmd", areas=["cardiology"])
            await request(ws, "push.register", gateway="bench", app_id="figure", pushkey=f"key-{n}")
            await ws.close()

    await asyncio.gather(*(offline_fmd(n) for n in range(fmds)))
    await asyncio.sleep(1)
    hcp = await session(url, "hcp0", "hcp")
    sent = time.time()
    await request(hcp, "mod.request", area="cardiology", question="figure", mode="chat")
    deadline = time.time() + 60
    while len(gateway.arrivals) < fmds and time.time() < deadline:
        await asyncio.sleep(0.05)
    await hcp.close()
    millis = sorted((at - sent) * 1000 for at, _ in gateway.arrivals)
    pushkeys = {d["pushkey"] for _, body in gateway.arrivals for d in body["notification"]["devices"]}
    return {
        "fmds": fmds, "notifications": len(millis), "distinct_pushkeys": len(pushkeys),
        "p50_ms": round(statistics.median(millis), 1),
        "p99_ms": round(millis[max(0, int(len(millis) * 0.99) - 1)], 1),
        "max_ms": round(millis[-1], 1),
    }


def chat(loadtest: Path, port: int, pid: int, duration: int, out: Path, extra: list[str]) -> dict:
    subprocess.run([str(loadtest), "chat", "--port", str(port), "--secret", SECRET, "--server-pid", str(pid),
                    "--duration", str(duration), "--rooms", "50", "--members", "2", "--window", "16",
                    "--warmup", "2", "--json", str(out), *extra], check=True, stdout=subprocess.DEVNULL, timeout=600)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fmds", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="push-figure-"))
    results: dict = {}

    gateway = Gateway()
    proc, port, _ = start_server(args.bin / "liaison", gateway, out / "latency.server.log")
    try:
        results["latency"] = asyncio.run(latency(f"ws://127.0.0.1:{port}/ws", gateway, args.fmds))
    finally:
        stop_server(proc)
    print("push latency:", json.dumps(results["latency"]), flush=True)

    for name, extra in [("none offline", []),
                        ("half offline, pushers", ["--offline-members", "2", "--push-gateway", "bench"]),
                        ("half offline, no pushers", ["--offline-members", "2"])]:
        gateway.arrivals.clear()
        proc, port, _ = start_server(args.bin / "liaison", gateway, out / f"chat-{len(results)}.server.log")
        try:
            run = chat(args.bin / "liaison-loadtest", port, proc.pid, args.duration, out / f"chat-{len(results)}.json", extra)
        finally:
            stop_server(proc)
        results[name] = {"acks_per_s": run["acks_per_s"], "ack_p99_ms": run["ack_latency"].get("p99_ms"),
                         "notifications": len(gateway.arrivals)}
        print(f"chat, {name}:", json.dumps(results[name]), flush=True)
    (out / "push-figure.json").write_text(json.dumps(results, indent=2))
    print(f"results in {out}")


if __name__ == "__main__":
    main()
