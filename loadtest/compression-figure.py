#!/usr/bin/env python3
"""permessage-deflate's cost (docs/BENCHMARKS.md): N Python `websockets` receivers (they offer
permessage-deflate) in one room, M messages of ~100-byte bodies; server CPU per delivery, RSS per idle
connection, and a `msg` event's bytes on the wire, uncompressed and as lws compresses it (level 1).

Usage: .venv/bin/python loadtest/compression-figure.py off|on [N] [M] [--no-takeover] [--bin .build/release/liaison]
"""
import argparse, asyncio, json, os, socket, subprocess, sys, tempfile, time, zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "e2e"))
import websockets
from liaison_helpers import token

SECRET = "s" * 40

def proc(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
    return cpu, rss

async def main(compression, n, m, binary, no_takeover):
    # Receivers offer permessage-deflate as `websockets` does by default (keeping their context, like
    # browsers), or, with --no-takeover, with no context takeover either way.
    receiver_options = {}
    if no_takeover:
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        receiver_options = {"compression": None, "extensions": [ClientPerMessageDeflateFactory(
            client_no_context_takeover=True, server_no_context_takeover=True)]}
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    data = tempfile.mkdtemp()
    p = subprocess.Popen([binary, "serve", "--port", str(port), "--tls-port", "0", "--data-dir", data, "--jwt-secret", SECRET,
                          "--compression", compression, "--rate-limit", "100000", "--max-frame-bytes", "4194304"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await asyncio.sleep(1.5)
    url = f"ws://127.0.0.1:{port}/ws"
    admin = await websockets.connect(url, subprotocols=["liaison.v1"])
    await admin.send(json.dumps({"type": "hello", "id": "h", "token": token(SECRET, "root", "admin", "t1"), "device": "d"}))
    for i in range(n):
        await admin.send(json.dumps({"type": "user.put", "id": f"p{i}", "user": f"r{i}", "role": "msl"}))
    sender = await websockets.connect(url, subprotocols=["liaison.v1"], max_size=None)
    await sender.send(json.dumps({"type": "hello", "id": "h", "token": token(SECRET, "s", "msl", "t1"), "device": "d"}))
    await asyncio.sleep(1)
    await sender.send(json.dumps({"type": "room.create", "id": "c", "kind": "group", "members": [f"r{i}" for i in range(n)]}))
    room = None
    while room is None:
        f = json.loads(await sender.recv())
        if f.get("id") == "c": room = f["room"]
    cpu0, rss0 = proc(p.pid)
    receivers = []
    for i in range(n):
        ws = await websockets.connect(url, subprotocols=["liaison.v1"], max_size=None, **receiver_options)
        await ws.send(json.dumps({"type": "hello", "id": "h", "token": token(SECRET, f"r{i}", "msl", "t1"), "device": "d"}))
        receivers.append(ws)
    async def drain_until_synced(ws):
        while json.loads(await ws.recv()).get("type") != "synced": pass
    await asyncio.gather(*(drain_until_synced(ws) for ws in receivers))
    await asyncio.sleep(1)
    cpu1, rss1 = proc(p.pid)
    sample = None
    async def receive(ws):
        nonlocal sample
        got = 0
        while got < m:
            text = await ws.recv()
            if '"type":"msg"' in text:
                got += 1
                sample = text
    t0 = time.monotonic()
    tasks = [asyncio.create_task(receive(ws)) for ws in receivers]
    for k in range(m):
        await sender.send(json.dumps({"type": "msg.send", "id": f"m{k}", "room": room, "body": ("x%03d " % k) + "lorem ipsum dolor sit amet " * 3 + "0123456789"[:100 - 90]}))
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t0
    cpu2, _ = proc(p.pid)
    frame = sample.encode()
    d = zlib.compressobj(1, zlib.DEFLATED, -15, 1)
    compressed = len(d.compress(frame) + d.flush(zlib.Z_SYNC_FLUSH)) - 4
    print(json.dumps({"compression": compression, "no_takeover": no_takeover, "receivers": n, "messages": m, "deliveries": n * m,
                      "rss_per_idle_connection_kib": round((rss1 - rss0) / n, 2),
                      "server_cpu_us_per_delivery": round((cpu2 - cpu1) * 1e6 / (n * m), 2),
                      "msg_frame_bytes": len(frame) + 2, "msg_frame_bytes_compressed": compressed + 2,
                      "elapsed_s": round(elapsed, 2)}))
    p.terminate(); p.wait()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("compression", choices=["off", "on"])
    parser.add_argument("receivers", type=int, nargs="?", default=1000)
    parser.add_argument("messages", type=int, nargs="?", default=20)
    parser.add_argument("--bin", default=".build/release/liaison")
    parser.add_argument("--no-takeover", action="store_true", help="receivers offer no context takeover")
    args = parser.parse_args()
    asyncio.run(main(args.compression, args.receivers, args.messages, args.bin, args.no_takeover))
