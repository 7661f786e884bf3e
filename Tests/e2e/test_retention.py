"""Retention and legal hold (issue 17, protocol.md § Interaction record): `--retention-days` erases
message bodies older than N days at snapshots, leaving tombstones (`kind: "erased"`, no `body`,
`body_sha256`, `erased_at`; seq, sender and client_msg_id kept) in history and replay; seqs stay
gapless, the audit trail keeps every record and one per erasure; rooms under `room.hold` keep
everything; erased bodies are gone from the files on disk, also after a SIGKILL and a restart."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

from liaison_helpers import connect_replay, create_room, full_history, run_cli, send_msg

# 0.00003 days = 2.6 s: messages are "old" a few seconds after they are sent.
RETENTION_DAYS = 0.00003
RETENTION_S = RETENTION_DAYS * 86400
FLAGS = dict(retention_days=RETENTION_DAYS, snapshot_interval=0.2)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def audit_records(srv) -> list[dict]:
    return [json.loads(line) for line in srv.audit_log.read_bytes().splitlines()]


def files_containing(data_dir: Path, needle: str) -> list[str]:
    """Every file under `data_dir` whose bytes contain `needle`."""
    raw = needle.encode()
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file() and raw in p.read_bytes())


async def wait_for_tombstones(c, room: str, seqs: set[int], timeout: float = 15.0) -> list[dict]:
    """The room's history once every message of `seqs` is a tombstone (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        history = await full_history(c, room)
        if all(m["kind"] == "erased" for m in history if m["seq"] in seqs):
            return history
        assert time.monotonic() < deadline, f"not erased within {timeout}s: {history}"
        await asyncio.sleep(0.2)


def check_tombstone(message: dict, sent: dict, room: str, sender: str) -> None:
    assert message["kind"] == "erased", message
    assert "body" not in message, message
    assert message["body_sha256"] == sha256(sent["body"]), message
    assert isinstance(message["erased_at"], int) and message["erased_at"] >= message["ts"], message
    assert (message["room"], message["seq"], message["from"], message["ts"], message["client_msg_id"]) == (
        room, sent["seq"], sender, sent["ts"], sent["client_msg_id"]), message


async def test_retention_erases_old_bodies_keeps_seqs_and_audit_and_spares_held_rooms(server_factory):
    srv = server_factory(**FLAGS)
    admin = await srv.login("root", "admin")
    ana = await srv.login("ana", "msl")
    await (await srv.login("ben", "msl")).close()  # ben never acks: the replay must show tombstones
    free = await create_room(ana, "group", ["ben"], title="free")
    held = await create_room(ana, "group", ["ben"], title="held")
    await admin.ok("room.hold", room=held, on=True)

    sent = {room: [] for room in (free, held)}
    for room in (free, held):
        for i in range(3):
            body = f"secret-{room}-{i}"
            r = await send_msg(ana, room, body)
            sent[room].append({**r, "body": body})

    history = await wait_for_tombstones(ana, free, {1, 2, 3})
    fresh = await send_msg(ana, free, "fresh message")
    history = await full_history(ana, free)
    assert [m["seq"] for m in history] == [1, 2, 3, 4], history
    for message, s in zip(history, sent[free]):
        check_tombstone(message, s, free, "ana")
    assert history[3]["kind"] == "text" and history[3]["body"] == "fresh message", history[3]
    assert fresh["seq"] == 4

    # A resend of an erased message's client_msg_id is still recognised: no new message.
    again = await ana.ok("msg.send", room=free, body="resent", client_msg_id=sent[free][0]["client_msg_id"])
    assert (again["seq"], again["ts"]) == (1, sent[free][0]["ts"]), again

    kept = await full_history(ana, held)
    assert [(m["seq"], m["kind"], m["body"]) for m in kept] == [(s["seq"], "text", s["body"]) for s in sent[held]]

    # The offline replay shows the tombstones too, in order, before `synced`.
    ben, replayed = await connect_replay(srv, "ben")
    by_room = {room: [m for m in replayed if m["room"] == room] for room in (free, held)}
    assert [m["seq"] for m in by_room[free]] == [1, 2, 3, 4]
    for message, s in zip(by_room[free], sent[free]):
        check_tombstone(message, s, free, "ana")
    assert [m.get("body") for m in by_room[held]] == [s["body"] for s in sent[held]]

    # The audit trail: one record for the batch, the hold, nothing erased; the chain is intact.
    records = audit_records(srv)
    erasures = [r for r in records if r["action"] == "retention.erase"]
    assert [(r["detail"]["room"], r["detail"]["from_seq"], r["detail"]["to_seq"], r["detail"]["count"]) for r in erasures] == [
        (free, "1", "3", "3")], erasures
    assert erasures[0]["tenant"] == "t1"
    sends = [r for r in records if r["action"] == "msg.send" and r["detail"]["room"] == free]
    assert [r["detail"]["sha256"] for r in sends[:3]] == [sha256(s["body"]) for s in sent[free]]
    holds = [r for r in records if r["action"] == "room.hold"]
    assert [(r["actor"], r["detail"]) for r in holds] == [("root", {"room": held, "on": "true"})], holds

    # On disk: the erased bodies are nowhere, the held ones still there; also after a SIGKILL + restart.
    await ben.close()
    srv.kill()
    for s in sent[free]:
        assert files_containing(srv.data_dir, s["body"]) == [], s["body"]
    for s in sent[held]:
        assert "rooms" in " ".join(files_containing(srv.data_dir, s["body"])), s["body"]
    verify = await asyncio.to_thread(run_cli, "audit", "verify", str(srv.audit_log))
    assert verify.returncode == 0, verify.stdout + verify.stderr

    srv2 = server_factory.restart(srv)
    ana2 = await srv2.login("ana", "msl")
    after = await full_history(ana2, free)
    assert [m["seq"] for m in after] == [1, 2, 3, 4], after  # 4 may be old enough to be erased by now
    for message, s in zip(after, sent[free]):
        check_tombstone(message, s, free, "ana")
    assert [m.get("body") for m in await full_history(ana2, held)] == [s["body"] for s in sent[held]]

    # Releasing the hold lets retention erase the held room's old messages at the next snapshots.
    admin2 = await srv2.login("root", "admin")
    await admin2.ok("room.hold", room=held, on=False)
    released = await wait_for_tombstones(ana2, held, {1, 2, 3})
    for message, s in zip(released, sent[held]):
        check_tombstone(message, s, held, "ana")


async def test_room_hold_is_for_admins_of_the_rooms_tenant(server_factory):
    srv = server_factory()
    ana = await srv.login("ana", "msl")
    room = await create_room(ana, "group", [], title="r")
    await ana.error("room.hold", "forbidden", room=room, on=True)
    admin = await srv.login("root", "admin")
    await admin.error("room.hold", "not_found", room="r0123456789abcdef0123", on=True)
    other = await srv.login("boss", "admin", tenant="t2")
    await other.error("room.hold", "not_found", room=room, on=True)
    await admin.ok("room.hold", room=room, on=True)
    await admin.ok("room.hold", room=room, on=True)  # again: no change, still ok
    await admin.error("room.hold", "bad_request", room=room, on="yes", malformed=True)
    refused = [r for r in audit_records(srv) if r["action"] == "request.refused" and r["detail"].get("request") == "room.hold"]
    assert len(refused) >= 3, refused


async def test_a_hold_survives_a_sigkill_and_keeps_the_room_from_retention(server_factory):
    srv = server_factory(snapshot_interval=60)  # the hold is only in the journal when killed
    ana = await srv.login("ana", "msl")
    admin = await srv.login("root", "admin")
    room = await create_room(ana, "group", [], title="held")
    r = await send_msg(ana, room, "kept-by-hold")
    await admin.ok("room.hold", room=room, on=True)
    srv.kill()
    srv2 = server_factory.restart(srv, **FLAGS)
    ana2 = await srv2.login("ana", "msl")
    await asyncio.sleep(RETENTION_S + 1.0)
    history = await full_history(ana2, room)
    assert [(m["seq"], m["kind"], m.get("body")) for m in history] == [(r["seq"], "text", "kept-by-hold")], history


async def test_retention_days_must_be_positive(server_factory, tmp_path):
    for value in ("0", "-1", "soon"):
        p = await asyncio.to_thread(
            run_cli, "serve", "--port", "0", "--tls-port", "0", "--data-dir", str(tmp_path / "d"),
            "--jwt-secret", "x" * 32, "--retention-days", value)
        assert p.returncode != 0 and "retention-days" in (p.stdout + p.stderr), (value, p.stdout, p.stderr)


def upload_file(srv, user: str, data: bytes) -> str:
    import urllib.request
    request = urllib.request.Request(f"{srv.http}/v1/files", data=data, method="POST", headers={
        "Authorization": f"Bearer {srv.token(user, 'msl')}", "Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["file"]


def download_status(srv, user: str, file: str) -> int:
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"{srv.http}/v1/files/{file}", headers={"Authorization": f"Bearer {srv.token(user, 'msl')}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


async def test_retention_erases_old_files_but_keeps_their_record_and_spares_held_rooms(server_factory):
    srv = server_factory(**FLAGS)
    admin = await srv.login("root", "admin")
    ana = await srv.login("ana", "msl")
    await srv.login("ben", "msl")
    kept_room = await create_room(ana, "group", ["ben"], title="held")
    await admin.ok("room.hold", room=kept_room, on=True)
    room = await create_room(ana, "group", ["ben"], title="plain")
    old = await asyncio.to_thread(upload_file, srv, "ana", b"OLD-FILE-BYTES " * 100)
    held = await asyncio.to_thread(upload_file, srv, "ana", b"HELD-FILE-BYTES " * 100)
    await ana.ok("msg.send", room=room, body="old", attachments=[{"file": old}])
    await ana.ok("msg.send", room=kept_room, body="held", attachments=[{"file": held}])
    deadline = time.monotonic() + 20
    while await asyncio.to_thread(download_status, srv, "ben", old) != 410:
        assert time.monotonic() < deadline, "the old file was never erased"
        await asyncio.sleep(0.3)
    assert await asyncio.to_thread(download_status, srv, "ben", held) == 200
    assert not (srv.data_dir / "files" / f"{old}.blob").exists() and (srv.data_dir / "files" / f"{held}.blob").exists()
    erasures = [r for r in audit_records(srv) if r["action"] == "retention.erase_file"]
    assert [r["detail"]["file"] for r in erasures] == [old], erasures
    r = await ana.request("msg.send", room=room, body="again", attachments=[{"file": old}])
    assert r["code"] == "not_found" and r["message"] == f"file '{old}' was erased by retention", r
