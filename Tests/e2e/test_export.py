"""The interaction record (issue 17, protocol.md § Interaction record): `liaison export` and
`GET /v1/admin/export` over a scripted day — chat, a MOD request claimed, an answered call with a
duration, a declined call — for the tenant, a user and a room: every interaction once, in the audit
trail's order, each row's `audit_hash` the hash of its audit line; CSV that Python's csv module reads,
with formula cells neutralised; a tampered trail refuses the export (exit 2, the bad line named);
retention's tombstones in the export, held rooms untouched; admins only over HTTP, own tenant only."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from liaison_helpers import create_room, now_ms, run_cli, send_many, send_msg

INTERACTION_ACTIONS = {
    "msg.send", "mod.request", "mod.offer", "mod.claim", "mod.taken", "mod.decline", "mod.cancel", "mod.expire",
    "call.invite", "call.accept", "call.reject", "call.hangup", "call.end",
    "room.create", "room.invite", "room.join", "room.leave", "room.hold",
    "meeting.create", "meeting.rsvp", "meeting.update", "meeting.cancel", "meeting.forward", "meeting.note",
    "meeting.reminder", "meeting.held", "meeting.missed", "call.note", "file.upload", "file.download",
}
FIELDS = [
    "time", "ts", "kind", "event", "tenant", "actor", "device", "room", "seq", "request", "call", "users",
    "outcome", "refused", "message_kind", "size", "body_status", "body_sha256", "body", "erased_at", "area", "mode",
    "media", "caller_device", "callee", "callee_device", "rang_at", "answered_at", "ended_at", "duration_ms",
    "reason", "room_kind", "meeting", "starts_at", "note", "note_kind", "file", "content_type", "sha256", "files",
    "audit_seq", "audit_hash",
]
OFFER = "v=0\r\no=ana 1 1 IN IP4 127.0.0.1\r\ns=offer\r\nt=0 0\r\n"
ANSWER = "v=0\r\no=ben 2 2 IN IP4 127.0.0.1\r\ns=answer\r\nt=0 0\r\n"
FORMULA = "=HYPERLINK(\"http://evil\",\"click\")"
TRICKY = "-1+1, \"quoted\"\nsecond line @ the end"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def audit_records(srv) -> list[dict]:
    return [json.loads(line) for line in srv.audit_log.read_bytes().splitlines()]


async def wait_audited(srv, predicate, what: str, timeout: float = 10.0) -> list[dict]:
    """The audit records once `predicate(records)` holds (the trail is written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        records = audit_records(srv)
        if predicate(records):
            return records
        assert time.monotonic() < deadline, f"the audit trail never showed {what}"
        await asyncio.sleep(0.1)


async def export(srv, out: Path, *args: str) -> list[dict]:
    """`liaison export` of tenant t1 (plus `args`) as JSONL rows; asserts it succeeded."""
    p = await asyncio.to_thread(run_cli, "export", "--data-dir", str(srv.data_dir), "--tenant", "t1",
                                "--out", str(out), *args)
    assert p.returncode == 0, p.stdout + p.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def check_rows_match_the_trail(rows: list[dict], records: list[dict]) -> None:
    """Each row is one audit record (same seq, ts, actor, tenant), in the trail's order, none twice."""
    by_hash = {r["hash"]: r for r in records}
    seqs = [row["audit_seq"] for row in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    for row in rows:
        record = by_hash.get(row["audit_hash"])
        assert record is not None, f"no audit record has the hash of {row}"
        assert (record["seq"], record["ts"], record.get("actor"), record["tenant"]) == (
            row["audit_seq"], row["ts"], row.get("actor"), row["tenant"]), (record, row)


def http_export(srv, token: str | None, query: str = "") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"{srv.http}/v1/admin/export{query}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


async def scripted_day(srv, trail=None) -> dict:
    """Chat in a group room (a formula and a tricky body among the messages, an attempt to edit one),
    a MOD request claimed by an FMD, an answered call that lasts about a second, a declined call; and a
    little in tenant t2. The audit trail is `trail`'s (default `srv`'s: in a cluster, the active node's)."""
    ana = await srv.login("ana", "msl", name="Ana")
    ben = await srv.login("ben", "msl", name="Ben")
    hana = await srv.login("hana", "hcp", name="Hana")
    fay = await srv.login("fay", "fmd", name="Fay", areas=["onco"])
    zed = await srv.login("zed", "msl", tenant="t2")
    room = await create_room(ana, "group", ["ben"], title="brand team")
    sent = [await send_msg(ana, room, "morning, ben"), await send_msg(ben, room, FORMULA),
            await send_msg(ana, room, TRICKY)]
    # History cannot be edited: a resend of a client_msg_id, even with another body, is the first message.
    again = await ana.ok("msg.send", room=room, body="edited morning", client_msg_id=sent[0]["client_msg_id"])
    assert again["seq"] == sent[0]["seq"], again
    other = await create_room(zed, "group", [], title="t2 room")
    await send_msg(zed, other, "not t1's business")

    r = await hana.ok("mod.request", area="onco", question="What is the max dose?", mode="chat")
    request = r["request"]
    await fay.next_event("mod.offer", request=request)
    claimed = await fay.ok("mod.claim", request=request)
    mod_room = claimed["room"]

    answered = (await ana.ok("call.invite", room=room, media="audio", sdp=OFFER))["call"]
    await ben.next_event("call.ring", call=answered)
    await ben.ok("call.accept", call=answered, sdp=ANSWER)
    await ana.next_event("call.accepted", call=answered)
    await asyncio.sleep(1.0)
    await ana.ok("call.hangup", call=answered)
    declined = (await ben.ok("call.invite", room=room, media="video", sdp=OFFER))["call"]
    await ana.next_event("call.ring", call=declined)
    await ana.ok("call.reject", call=declined)

    records = await wait_audited(
        trail or srv, lambda rs: sum(r["action"] == "call.end" for r in rs) == 2
        and any(r["action"] == "mod.taken" for r in rs)
        and sum(r["action"] == "msg.send" and r["detail"]["room"] == room for r in rs) == 5,
        "both calls' ends, the claim and the calls' records in the room")
    return {"room": room, "mod_room": mod_room, "request": request, "answered": answered, "declined": declined,
            "sent": sent, "records": records, "clients": (ana, ben, hana, fay, zed)}


async def test_the_tenants_record_holds_every_interaction_once_in_order_with_its_audit_hash(server, tmp_path):
    day = await scripted_day(server)
    rows = await export(server, tmp_path / "t1.jsonl")
    records = audit_records(server)
    check_rows_match_the_trail(rows, records)
    expected = [r["hash"] for r in records if r["tenant"] == "t1" and r["action"] in INTERACTION_ACTIONS]
    assert [row["audit_hash"] for row in rows] == expected
    assert {row["tenant"] for row in rows} == {"t1"}

    chat = [row for row in rows if row["kind"] == "message" and row["room"] == day["room"]]
    assert [row["seq"] for row in chat] == [1, 2, 3, 4, 5]
    assert [row["body"] for row in chat[:3]] == ["morning, ben", FORMULA, TRICKY]
    assert [row["message_kind"] for row in chat] == ["text", "text", "text", "system", "system"]
    assert all(row["body_status"] == "included" and row["body_sha256"] == sha256(row["body"]) for row in chat)

    mod = [(row["event"], row.get("actor"), row.get("outcome"), row.get("room")) for row in rows if row["kind"] == "mod"]
    assert mod == [("requested", "hana", None, None), ("claim", "fay", "won", None), ("taken", "fay", None, day["mod_room"])]
    question = [row for row in rows if row["kind"] == "message" and row["room"] == day["mod_room"]]
    assert [(row["actor"], row["body"]) for row in question] == [("hana", "What is the max dose?")]

    calls = {(row["call"], row["event"]): row for row in rows if row["kind"] == "call"}
    assert [k for k in calls if k[0] == day["answered"]] == [
        (day["answered"], e) for e in ("invited", "accepted", "hung_up", "ended")]
    assert [k for k in calls if k[0] == day["declined"]] == [(day["declined"], e) for e in ("invited", "declined", "ended")]
    end = calls[(day["answered"], "ended")]
    assert (end["outcome"], end["actor"], end["callee"], end["media"]) == ("answered", "ana", "ben", "audio"), end
    assert 900 <= end["duration_ms"] <= 10_000 and end["rang_at"] <= end["answered_at"] < end["ended_at"], end
    assert end["duration_ms"] == end["ended_at"] - end["answered_at"]
    refused = calls[(day["declined"], "ended")]
    assert (refused["outcome"], refused["reason"], refused.get("duration_ms")) == ("declined", "rejected", None), refused
    assert calls[(day["declined"], "declined")]["actor"] == "ana"
    assert calls[(day["declined"], "invited")]["users"] == ["ana"]


async def test_a_user_and_a_room_get_their_own_interactions(server, tmp_path):
    day = await scripted_day(server)
    everything = await export(server, tmp_path / "all.jsonl")
    ben = await export(server, tmp_path / "ben.jsonl", "--user", "ben")
    room = await export(server, tmp_path / "room.jsonl", "--room", day["room"])
    records = audit_records(server)
    for rows in (ben, room):
        check_rows_match_the_trail(rows, records)
        assert rows and set(row["audit_hash"] for row in rows) <= set(row["audit_hash"] for row in everything)

    assert {row.get("room") for row in room} == {day["room"]}
    assert [row["audit_hash"] for row in room] == [row["audit_hash"] for row in everything if row.get("room") == day["room"]]
    # ben: his room and calls, nothing of hana's MOD request (he was neither offered it nor in its room).
    assert {row.get("room") for row in ben if row["kind"] != "mod"} == {day["room"]}
    assert not [row for row in ben if row["kind"] == "mod"]
    assert [row["audit_hash"] for row in ben if row.get("room") == day["room"]] == [row["audit_hash"] for row in room]
    hana = await export(server, tmp_path / "hana.jsonl", "--user", "hana", "--bodies", "hash")
    assert [row["event"] for row in hana if row["kind"] == "mod"] == ["requested", "claim", "taken"]
    assert all(row["body_status"] == "hashed" and "body" not in row for row in hana if row["kind"] == "message")
    # A time window: from the answered call's invitation on.
    invited = next(row for row in everything if row.get("call") == day["answered"])
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(invited["ts"] // 1000)) + f".{invited['ts'] % 1000:03d}Z"
    later = await export(server, tmp_path / "later.jsonl", "--since", since)
    assert [row["audit_hash"] for row in later] == [row["audit_hash"] for row in everything if row["ts"] >= invited["ts"]]


async def test_csv_opens_with_pythons_csv_module_and_formula_cells_are_neutralised(server, tmp_path):
    await scripted_day(server)
    rows = await export(server, tmp_path / "t1.jsonl")
    out = tmp_path / "t1.csv"
    p = await asyncio.to_thread(run_cli, "export", "--data-dir", str(server.data_dir), "--tenant", "t1",
                                "--format", "csv", "--out", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    raw = out.read_bytes()
    assert raw.endswith(b"\r\n")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert table[0] == FIELDS
    assert len(table) == len(rows) + 1
    cells = [dict(zip(FIELDS, line)) for line in table[1:]]
    assert [c["audit_hash"] for c in cells] == [row["audit_hash"] for row in rows]
    bodies = [c["body"] for c in cells if c["kind"] == "message"]
    assert "'" + FORMULA in bodies and "'" + TRICKY in bodies and "morning, ben" in bodies
    for cell in (value for c in cells for value in c.values()):
        assert not cell or cell[0] not in "=+-@", cell
    first = cells[0]
    assert (first["ts"], first["kind"]) == (str(rows[0]["ts"]), rows[0]["kind"])


async def test_a_tampered_audit_trail_refuses_the_export_naming_the_first_bad_record(server, tmp_path):
    await scripted_day(server)
    copy = tmp_path / "copy"
    shutil.copytree(server.data_dir, copy)
    lines = (copy / "audit.log").read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"msg.send"' in line)
    lines[index] = lines[index].replace(b'"actor":"ana"', b'"actor":"eve"')
    (copy / "audit.log").write_bytes(b"".join(lines))
    out = tmp_path / "refused.jsonl"
    for fmt in ("jsonl", "csv"):
        p = await asyncio.to_thread(run_cli, "export", "--data-dir", str(copy), "--tenant", "t1", "--format", fmt,
                                    "--out", str(out))
        assert p.returncode == 2, p.stdout + p.stderr
        assert f"line {index + 1}" in p.stderr and "altered" in p.stderr, p.stderr
        assert not out.exists() and not Path(str(out) + ".partial").exists()
    verify = await asyncio.to_thread(run_cli, "audit", "verify", str(copy / "audit.log"))
    assert verify.returncode == 1 and f"line {index + 1}" in verify.stdout, verify.stdout


async def test_retention_erases_old_bodies_but_keeps_seqs_and_audit_except_in_a_held_room(server_factory, tmp_path):
    srv = server_factory(retention_days=0.00003, snapshot_interval=0.2)  # "old" after 2.6 s
    admin = await srv.login("root", "admin")
    ana = await srv.login("ana", "msl")
    free = await create_room(ana, "group", [], title="free")
    held = await create_room(ana, "group", [], title="held")
    await admin.ok("room.hold", room=held, on=True)
    bodies = {room: [f"{room}-body-{i}" for i in range(3)] for room in (free, held)}
    for room in (free, held):
        for body in bodies[room]:
            await send_msg(ana, room, body)
    await wait_audited(srv, lambda rs: sum(int(r["detail"]["count"]) for r in rs if r["action"] == "retention.erase"
                                           and r["detail"]["room"] == free) == 3, "the free room's erasure", timeout=20)
    # The audit record is synced before the bodies are overwritten: export once the erasure is on disk too.
    deadline = time.monotonic() + 10
    while True:
        rows = await export(srv, tmp_path / "t1.jsonl")
        erased = [row for row in rows if row["kind"] == "message" and row["room"] == free and row["body_status"] == "erased"]
        if len(erased) == 3 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    check_rows_match_the_trail(rows, audit_records(srv))
    messages = {room: [row for row in rows if row["kind"] == "message" and row["room"] == room] for room in (free, held)}
    assert [row["seq"] for row in messages[free]] == [1, 2, 3]
    assert [(row["body_status"], row.get("body"), row["body_sha256"]) for row in messages[free]] == [
        ("erased", None, sha256(body)) for body in bodies[free]]
    assert all(isinstance(row["erased_at"], int) and row["erased_at"] >= row["ts"] for row in messages[free])
    assert [(row["seq"], row["body_status"], row["body"]) for row in messages[held]] == [
        (i + 1, "included", body) for i, body in enumerate(bodies[held])]
    holds = [row for row in rows if row["kind"] == "room" and row["event"] == "hold"]
    assert [(row["actor"], row["room"], row["outcome"]) for row in holds] == [("root", held, "on")]


async def test_admins_export_their_own_tenant_over_http_streamed_and_no_one_else_may(chat_server, tmp_path):
    server = chat_server
    day = await scripted_day(server)
    ana = day["clients"][0]
    await send_many(ana, day["room"], 300, prefix="bulk")  # > 64 KiB of rows: several chunks
    await wait_audited(server, lambda rs: sum(r["action"] == "msg.send" for r in rs) >= 300, "the bulk messages")
    admin = server.token("root", "admin")
    status, headers, body = await asyncio.to_thread(http_export, server, admin)
    assert status == 200, body
    assert headers["content-type"].startswith("application/x-ndjson"), headers
    assert headers.get("transfer-encoding") == "chunked", headers
    rows = [json.loads(line) for line in body.decode().splitlines()]
    cli = await export(server, tmp_path / "t1.jsonl")
    assert [row["audit_hash"] for row in rows] == [row["audit_hash"] for row in cli]
    assert rows == cli
    check_rows_match_the_trail(rows, audit_records(server))

    status, _, body = await asyncio.to_thread(http_export, server, admin, f"?room={day['room']}&bodies=hash&tenant=t1")
    assert status == 200, body
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert rows and {row["room"] for row in rows} == {day["room"]}
    assert all("body" not in row for row in rows)

    records = audit_records(server)
    exports = [r for r in records if r["action"] == "interaction.export"]
    assert [(r["actor"], r["outcome"]) for r in exports] == [("root", "ok"), ("root", "ok")], exports

    # The other tenant's admin sees only t2.
    status, _, body = await asyncio.to_thread(http_export, server, server.token("boss", "admin", tenant="t2"))
    assert status == 200
    assert {json.loads(line)["tenant"] for line in body.decode().splitlines()} == {"t2"}

    for token, query, code, error in [
        (server.token("ana", "msl"), "", 403, "forbidden"),
        (server.token("fay", "fmd", areas=["onco"]), "", 403, "forbidden"),
        (admin, "?tenant=t2", 403, "forbidden"),
        (None, "", 401, "unauthorized"),
        ("not-a-token", "", 401, "unauthorized"),
        (admin, "?since=yesterday", 400, "bad_request"),
        (admin, "?bodies=all", 400, "bad_request"),
        (admin, "?format=csv", 400, "bad_request"),
        (admin, "?from=2026-01-01", 400, "bad_request"),
        (admin, "?user=", 400, "bad_request"),
    ]:
        status, headers, body = await asyncio.to_thread(http_export, server, token, query)
        assert status == code, (query, status, body)
        reply = json.loads(body)
        assert reply["error"] == error and reply["message"], reply
    refused = [r for r in audit_records(server) if r["action"] == "interaction.export" and r["outcome"] == "refused"]
    assert len(refused) == 3, refused  # two non-admins and another tenant: audited with who asked


async def test_meetings_files_and_their_sharing_are_in_the_record_without_note_text_or_file_bytes(server, tmp_path):
    ana = await server.login("ana", "msl", name="Ana")
    ben = await server.login("ben", "msl", name="Ben")
    created = await ana.ok("meeting.create", title="Dosing review", starts_at=now_ms() + 3_600_000, duration_min=30,
                           tz="UTC", invitees=["ben"])
    await ben.ok("meeting.rsvp", meeting=created["meeting"], response="accepted")
    await ben.ok("meeting.note", meeting=created["meeting"], kind="insight", text="secret insight text")
    data = b"%PDF-1.4 study"
    request = urllib.request.Request(f"{server.http}/v1/files", data=data, method="POST", headers={
        "Authorization": f"Bearer {server.token('ana', 'msl')}", "Content-Type": "application/pdf"})
    with urllib.request.urlopen(request, timeout=10) as response:
        file = json.loads(response.read())["file"]
    sent = await ana.ok("msg.send", room=created["room"], body="the study", attachments=[{"file": file}])
    download = urllib.request.Request(f"{server.http}/v1/files/{file}",
                                      headers={"Authorization": f"Bearer {server.token('ben', 'msl')}"})
    with urllib.request.urlopen(download, timeout=10) as response:
        assert response.read() == data
    await wait_audited(server, lambda rs: any(r["action"] == "file.download" for r in rs), "the download")

    rows = await export(server, tmp_path / "ben.jsonl", "--user", "ben")
    check_rows_match_the_trail(rows, audit_records(server))
    meeting = [(row["event"], row.get("actor"), row.get("outcome"), row.get("note_kind")) for row in rows
               if row["kind"] == "meeting"]
    assert meeting == [("scheduled", "ana", None, None), ("answered", "ben", "accepted", None),
                       ("note", "ben", None, "insight")], meeting
    assert all(row.get("room") == created["room"] for row in rows if row["kind"] == "meeting")
    files = [(row["event"], row["actor"], row["sha256"], row["size"]) for row in rows if row["kind"] == "file"]
    assert files == [("downloaded", "ben", hashlib.sha256(data).hexdigest(), len(data))], files
    message = next(row for row in rows if row["kind"] == "message" and row.get("seq") == sent["seq"])
    assert message["files"] == [file] and message["body"] == "the study"
    text = (tmp_path / "ben.jsonl").read_text()
    assert "secret insight text" not in text and "%PDF" not in text
    ana_rows = await export(server, tmp_path / "ana.jsonl", "--user", "ana")
    assert [row["event"] for row in ana_rows if row["kind"] == "file"] == ["uploaded", "downloaded"]
