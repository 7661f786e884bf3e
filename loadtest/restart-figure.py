#!/usr/bin/env python3
"""Restart time with many stored messages (issue 3's figure).

Seeds a fresh data directory through the wire (ROOMS group rooms, MESSAGES messages each, sent
pipelined by one client), stops the server cleanly (its last snapshot), then starts it again on the
same data directory and times how long until /healthz answers. With --kill the server is killed
(SIGKILL) instead, before any snapshot, so every restart replays the whole journal. Loopback only,
bounded throughout.

    .venv/bin/python loadtest/restart-figure.py [--rooms 10000] [--messages 100] [--kill] [--bin .build/release/liaison]
"""

import argparse
import asyncio
import json
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import jwt
import websockets

SECRET = "restart-figure"


def token(sub: str) -> str:
    claims = {"sub": sub, "role": "msl", "tenant": "bench", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def start(binary: str, data: Path, log: Path, *flags: str) -> tuple[subprocess.Popen, int, float]:
    """Starts a server logging to `log` (a new file) and waits until it answers /healthz."""
    started = time.monotonic()
    process = subprocess.Popen(
        [binary, "serve", "--port", "0", "--tls-port", "0", "--data-dir", str(data), "--jwt-secret", SECRET,
         "--rate-limit", "1000000000", *flags],
        stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = started + 120
    port = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}; see {log}")
        if port is None:
            match = re.search(rb"ws +ws://127\.0\.0\.1:(\d+)/ws", log.read_bytes())
            port = int(match.group(1)) if match else None
        if port is not None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return process, port, time.monotonic() - started
            except OSError:
                pass
        time.sleep(0.005)
    raise SystemExit("server did not become healthy within 120 s")


async def seed(port: int, rooms: int, messages: int, window: int) -> None:
    url = f"ws://127.0.0.1:{port}/ws"
    async with websockets.connect(url, max_size=None, max_queue=None) as other:
        await other.send(json.dumps({"type": "hello", "id": "h", "token": token("peer"), "device": "d"}))
        while json.loads(await other.recv())["type"] != "synced":
            pass
    async with websockets.connect(url, max_size=None, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello", "id": "h", "token": token("seeder"), "device": "d"}))
        while json.loads(await ws.recv())["type"] != "synced":
            pass
        replies: dict[str, dict] = {}
        arrived = asyncio.Event()

        async def reader() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if "id" in frame:
                    if frame["type"] != "ok":
                        raise SystemExit(f"seeding failed: {frame}")
                    replies[frame["id"]] = frame
                    arrived.set()

        reading = asyncio.create_task(reader())

        async def pipelined(requests) -> None:
            outstanding = 0
            for request in requests:
                while len(replies) < outstanding - window:
                    arrived.clear()
                    await asyncio.wait_for(arrived.wait(), 60)
                await ws.send(json.dumps(request))
                outstanding += 1
            while len(replies) < outstanding:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 60)

        await pipelined({"type": "room.create", "id": f"c{i}", "kind": "group", "members": ["peer"]} for i in range(rooms))
        room_ids = [replies[f"c{i}"]["room"] for i in range(rooms)]
        replies.clear()
        await pipelined({"type": "msg.send", "id": f"m{r}-{n}", "room": room, "body": f"message {n} of room {r}",
                         "client_msg_id": f"{r}-{n}"}
                        for n in range(messages) for r, room in enumerate(room_ids))
        reading.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=10000)
    parser.add_argument("--messages", type=int, default=100, help="messages per room")
    parser.add_argument("--window", type=int, default=2000, help="requests in flight while seeding")
    parser.add_argument("--bin", default=".build/release/liaison")
    parser.add_argument("--kill", action="store_true",
                        help="kill -9 after seeding and after each restart: restarts replay an unsnapshotted journal")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="liaison-restart-") as scratch:
        data = Path(scratch) / "data"
        process, port, _ = start(args.bin, data, Path(scratch) / "seed.log", "--fsync", "never", "--snapshot-interval", "3600")
        began = time.monotonic()
        asyncio.run(seed(port, args.rooms, args.messages, args.window))
        total = args.rooms * args.messages
        print(f"seeded {total:,} messages in {args.rooms:,} rooms in {time.monotonic() - began:.1f} s")
        began = time.monotonic()
        stop = signal.SIGKILL if args.kill else signal.SIGTERM
        process.send_signal(stop)
        process.wait(300)
        if args.kill:
            print("killed (SIGKILL): no snapshot, everything is in the journal")
        else:
            print(f"clean stop (last snapshot of every room) took {time.monotonic() - began:.1f} s")
        restarts = []
        for attempt in range(3):
            log = Path(scratch) / f"restart-{attempt}.log"
            flags = ("--snapshot-interval", "3600") if args.kill else ()
            process, port, seconds = start(args.bin, data, log, *flags)
            restarts.append(seconds)
            process.send_signal(stop)
            process.wait(120)
        loaded = re.findall(rb"loaded (\d+) room snapshots and replayed (\d+) journal records", log.read_bytes())
        print(f"restart to /healthz 200: {', '.join(f'{s:.2f} s' for s in restarts)} "
              f"(median {sorted(restarts)[1]:.2f} s; {loaded[-1][0].decode()} room snapshots loaded, "
              f"{loaded[-1][1].decode()} journal records replayed)")


if __name__ == "__main__":
    main()
