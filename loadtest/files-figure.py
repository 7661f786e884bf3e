#!/usr/bin/env python3
"""Issue 15's file figures, against a fresh server:

1. Upload and download MB/s over loopback for one 25 MiB file (best of 3), beside `curl` reading the
   same bytes from a plain static HTTP server (Python's http.server) as a reference.
2. The server's RSS before and at its peak while 20 clients upload 10 MiB each at once, and the
   p50/p99 of msg.send round trips measured meanwhile.

Usage: loadtest/files-figure.py [--bin .build/release]
Needs a build (swift build -c release for real figures) and the e2e venv (websockets, jwt).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
import jwt  # noqa: E402
import websockets  # noqa: E402

SECRET = "files-figure-secret-of-32-bytes-or-more"
MIB = 1024 * 1024


def token(sub: str, role: str = "msl") -> str:
    return jwt.encode({"sub": sub, "role": role, "tenant": "t1", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def upload(port: int, data: bytes) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/v1/files", body=data, headers={
        "Authorization": f"Bearer {token('mika')}", "Content-Type": "application/pdf", "Content-Length": str(len(data))})
    r = conn.getresponse()
    body = r.read()
    assert r.status == 201, (r.status, body)
    return json.loads(body)["file"]


def download(port: int, file: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", f"/v1/files/{file}", headers={"Authorization": f"Bearer {token('mika')}"})
    r = conn.getresponse()
    n = 0
    while chunk := r.read(1 << 20):
        n += len(chunk)
    return n


def best_rate(fn, size: int) -> float:
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        fn()
        best = max(best, size / MIB / (time.perf_counter() - start))
    return best


async def chat_latencies(port: int, stop: threading.Event) -> list[float]:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["liaison.v1"]) as ws:
        await ws.send(json.dumps({"type": "hello", "id": "h", "token": token("ben"), "device": "d"}))
        while json.loads(await ws.recv()).get("type") != "synced":
            pass
        await ws.send(json.dumps({"type": "room.create", "id": "c", "kind": "group", "members": [], "title": "t"}))
        room = None
        while room is None:
            frame = json.loads(await ws.recv())
            room = frame.get("room") if frame.get("id") == "c" else None
        out = []
        i = 0
        while not stop.is_set():
            i += 1
            start = time.perf_counter()
            await ws.send(json.dumps({"type": "msg.send", "id": f"m{i}", "room": room, "body": "hi"}))
            while json.loads(await ws.recv()).get("id") != f"m{i}":
                pass
            out.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.02)
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [f"{args.bin}/liaison", "serve", "--port", "0", "--tls-port", "0", "--data-dir", data, "--jwt-secret", SECRET,
             "--rate-limit", "100000"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        port = None
        for line in server.stdout:
            if "ws://" in line:
                port = int(line.split("ws://127.0.0.1:")[1].split("/")[0])
                break
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        try:
            blob = os.urandom(25 * MIB)
            file = upload(port, blob)
            up = best_rate(lambda: upload(port, blob), len(blob))
            down = best_rate(lambda: download(port, file), len(blob))
            static_dir = Path(data) / "static"
            static_dir.mkdir()
            (static_dir / "blob").write_bytes(blob)
            static = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"], cwd=static_dir,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            static_port = int(static.stdout.readline().split("port ")[1].split(" ")[0])
            curl = best_rate(lambda: subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{static_port}/blob"],
                                                    check=True), len(blob))
            static.terminate()
            print(f"25 MiB over loopback: upload {up:.0f} MB/s, download {down:.0f} MB/s "
                  f"(curl from python http.server: {curl:.0f} MB/s)")

            before = rss_kib(server.pid)
            peak = before
            stop = threading.Event()
            loop = asyncio.new_event_loop()
            latencies: list[float] = []
            chat = threading.Thread(target=lambda: latencies.extend(loop.run_until_complete(chat_latencies(port, stop))))
            chat.start()
            parts = [os.urandom(10 * MIB) for _ in range(20)]
            threads = [threading.Thread(target=upload, args=(port, p)) for p in parts]
            start = time.perf_counter()
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                peak = max(peak, rss_kib(server.pid))
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            stop.set()
            chat.join()
            lat = sorted(latencies)
            print(f"20 x 10 MiB parallel uploads in {elapsed:.1f} s: RSS {before / 1024:.0f} MiB before, "
                  f"peak {peak / 1024:.0f} MiB (+{(peak - before) / 1024:.0f} MiB); msg.send meanwhile "
                  f"p50 {statistics.median(lat):.1f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.1f} ms over {len(lat)} sends")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
