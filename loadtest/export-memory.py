#!/usr/bin/env python3
"""Issue 17's memory figure: peak RSS of `liaison export` over a tenant with 1,000,000 messages.

Writes a data directory straight in Liaison's on-disk format (no server, no wire): ROOMS group rooms
of the tenant, MESSAGES messages spread over them in random order, each in its room's archive
(rooms/<id>/messages.log + .idx + meta.json, records framed as length + CRC-32 + the `msg` event) and
audited in a hash-chained audit.log as the server writes it (`room.create`, then `msg.send` with the
body's SHA-256). Then runs `liaison export` on it (JSONL and CSV with bodies, JSONL with hashes only)
and reports each run's peak RSS (the kernel's ru_maxrss for the process, as /usr/bin/time -v shows
it), time and rows, and fails if any peak is at or above LIMIT_MIB.

  loadtest/export-memory.py [--bin .build/release/liaison] [--messages 1000000] [--rooms 1000]
                            [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

LIMIT_MIB = 100
TENANT = "acme"


def audit_line(record: dict, prev: str) -> tuple[bytes, str]:
    """One audit line as the server writes it: sorted keys, compact, `hash` = SHA-256 of what precedes it."""
    record = dict(record, prev=prev)
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()[:-1]
    digest = hashlib.sha256(body).hexdigest()
    return body + b',"hash":"' + digest.encode() + b'"}\n', digest


def generate(data: Path, messages: int, rooms: int, seed: int = 17) -> None:
    rng = random.Random(seed)
    room_ids = [f"r{index:020d}" for index in range(rooms)]
    members = {room: [f"u{(i * 7 + k) % 5000:04d}" for k in range(3)] for i, room in enumerate(room_ids)}
    start_ts = 1_790_000_000_000
    logs, indexes, offsets, seqs = {}, {}, {}, {}
    for room in room_ids:
        directory = data / "rooms" / room
        directory.mkdir(parents=True)
        logs[room] = open(directory / "messages.log", "wb", buffering=1 << 16)
        indexes[room] = open(directory / "messages.idx", "wb", buffering=1 << 12)
        offsets[room], seqs[room] = 0, 0
    prev, audit_seq, ts = "0" * 64, 0, start_ts
    with open(data / "audit.log", "wb", buffering=1 << 20) as audit:
        for room in room_ids:
            audit_seq += 1
            line, prev = audit_line({"action": "room.create", "actor": members[room][0], "detail": {
                "kind": "group", "members": ",".join(members[room]), "room": room}, "outcome": "ok",
                "seq": audit_seq, "tenant": TENANT, "ts": ts}, prev)
            audit.write(line)
        for n in range(messages):
            room = room_ids[rng.randrange(rooms)]
            sender = members[room][n % 3]
            seqs[room] += 1
            seq = seqs[room]
            ts += 1
            body = f"message {n}: " + "lorem ipsum dolor sit amet " * (1 + n % 5)
            event = json.dumps({"type": "msg", "room": room, "seq": seq, "from": sender, "body": body, "ts": ts,
                                "client_msg_id": f"c{n}", "kind": "text"}, separators=(",", ":")).encode()
            indexes[room].write(struct.pack("<Q", offsets[room]))
            logs[room].write(struct.pack("<II", len(event), zlib.crc32(event)) + event)
            offsets[room] += 8 + len(event)
            audit_seq += 1
            line, prev = audit_line({"action": "msg.send", "actor": sender, "detail": {
                "kind": "text", "room": room, "seq": str(seq), "sha256": hashlib.sha256(body.encode()).hexdigest(),
                "size": str(len(body.encode()))}, "outcome": "ok", "seq": audit_seq, "tenant": TENANT, "ts": ts}, prev)
            audit.write(line)
    for room in room_ids:
        logs[room].close()
        indexes[room].close()
        meta = {"id": room, "tenant": TENANT, "kind": "group", "title": room, "createdAt": start_ts,
                "members": members[room], "lastSeq": seqs[room], "acked": {}, "read": {}, "snapshotAt": ts}
        (data / "rooms" / room / "meta.json").write_text(json.dumps(meta))


def measure(binary: str, data: Path, out: Path, *args: str) -> dict:
    """Runs `liaison export`; its peak RSS (MiB), seconds and rows."""
    command = [binary, "export", "--data-dir", str(data), "--tenant", TENANT, "--out", str(out), *args]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"export-memory: {' '.join(command)} failed:\n{stderr}")
    with open(out, "rb") as f:
        rows = sum(1 for _ in f) - (1 if "csv" in args else 0)  # a CSV's header row
    return {"args": " ".join(args), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "seconds": round(seconds, 1),
            "rows": rows, "output_mib": round(out.stat().st_size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.environ.get("LIAISON_BIN", ".build/release/liaison"))
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--keep", help="generate into (or reuse) this directory and keep it")
    parser.add_argument("--json", help="also write the results here")
    options = parser.parse_args()
    if not os.access(options.bin, os.X_OK):
        sys.exit(f"export-memory: no liaison binary at {options.bin} (make build, or --bin)")

    work = Path(options.keep) if options.keep else Path(tempfile.mkdtemp(prefix="liaison-export-memory-"))
    data = work / "data"
    try:
        if not (data / "audit.log").exists():
            started = time.monotonic()
            data.mkdir(parents=True, exist_ok=True)
            generate(data, options.messages, options.rooms)
            print(f"generated {options.messages:,} messages in {options.rooms:,} rooms in "
                  f"{time.monotonic() - started:.0f} s ({(data / 'audit.log').stat().st_size / 2**20:.0f} MiB of audit trail)",
                  file=sys.stderr)
        results = [
            measure(options.bin, data, work / "export.jsonl"),
            measure(options.bin, data, work / "export.csv", "--format", "csv"),
            measure(options.bin, data, work / "export-hash.jsonl", "--bodies", "hash"),
        ]
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nliaison export, {options.messages:,} messages in {options.rooms:,} rooms (limit {LIMIT_MIB} MiB peak RSS)")
    print("| flags | rows | output MiB | seconds | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| `{r['args'] or '(jsonl, bodies included)'}` | {r['rows']:,} | {r['output_mib']} | {r['seconds']} | {r['peak_rss_mib']} |")
    if options.json:
        Path(options.json).write_text(json.dumps({"messages": options.messages, "rooms": options.rooms,
                                                  "results": results}, indent=2))
    worst = max(r["peak_rss_mib"] for r in results)
    if worst >= LIMIT_MIB:
        sys.exit(f"export-memory: peak RSS {worst} MiB is not below {LIMIT_MIB} MiB")


if __name__ == "__main__":
    main()
