"""Durability: journal + snapshots. A SIGKILL loses no acknowledged message, a torn journal tail
is cut, a snapshot + restart round trip keeps rooms, members, cursors and client_msg_id dedupe,
and `liaison inspect` reads a stopped server's data dir (issue 3, protocol.md § Rooms and chat)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict

import pytest

from liaison_helpers import (
    connect_replay,
    create_room,
    full_history,
    member_ids,
    run_cli,
    send_msg,
)

# ---------------------------------------------------------------- crash during a send storm

SENDERS = 10
TOTAL = 5000
PER_SENDER = TOTAL // SENDERS
WINDOW = 16                 # unanswered msg.send per sender at a time
KILL_AFTER_OKS = TOTAL // 2  # SIGKILL once this many oks have arrived
STORM_FLAGS = dict(snapshot_interval=1, rate_limit=100000, heartbeat=30, outbox_limit_bytes=256 * 1024 * 1024)


@pytest.mark.parametrize(
    "fsync,pace",
    [("batch", None), ("batch", 100.0), ("always", None)],
    ids=["batch-flat-out", "batch-paced-over-snapshots", "always-flat-out"],
)
async def test_sigkill_during_send_storm_loses_no_acknowledged_message(server_factory, fsync, pace):
    """`pace`: messages per second per sender (None: as fast as the server answers). Paced, the
    storm lasts ~5 s, so the SIGKILL falls after a few 1 s snapshots taken mid-storm."""
    srv = server_factory(fsync=fsync, **STORM_FLAGS)
    # olga is a member of every room and never acks: she must get everything replayed
    olga = await srv.login("olga", "msl")
    await olga.close()
    senders = [await srv.login(f"s{i}", "msl") for i in range(SENDERS)]
    shared = await create_room(senders[0], "group", [f"s{i}" for i in range(1, SENDERS)] + ["olga"], title="shared")
    own = [await create_room(c, "group", ["olga"], title=f"own-{i}") for i, c in enumerate(senders)]
    rooms = [shared, *own]

    # (client, rid, room, client_msg_id) of every msg.send written to the wire
    sent: list[tuple] = []
    baseline = [len(c.replies) for c in senders]
    stop = asyncio.Event()

    async def storm(i: int, c) -> None:
        inflight: list[str] = []
        start = time.monotonic()
        try:
            for k in range(PER_SENDER):
                if stop.is_set():
                    return
                if pace:
                    delay = start + k / pace - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                room = shared if k % 2 == 0 else own[i]
                cmid = f"s{i}-{k}"
                rid = await c.send("msg.send", room=room, body=f"storm {cmid}", client_msg_id=cmid)
                sent.append((c, rid, room, cmid))
                inflight.append(rid)
                if len(inflight) >= WINDOW:
                    await c.reply(inflight.pop(0), 30)
        except Exception:
            return  # the kill closes the connection mid-storm

    def oks_so_far() -> int:
        return sum(len(c.replies) - b for c, b in zip(senders, baseline))

    t0 = time.monotonic()
    tasks = [asyncio.create_task(storm(i, c)) for i, c in enumerate(senders)]
    while oks_so_far() < KILL_AFTER_OKS:
        if all(t.done() for t in tasks):
            break
        assert time.monotonic() - t0 < 90, f"only {oks_so_far()} oks after 90 s"
        await asyncio.sleep(0.005)
    srv.kill()
    killed_at = oks_so_far()
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    await asyncio.sleep(0.2)   # let the readers drain what was already on the wire

    acked: dict[tuple[str, str], int] = {}
    for c, rid, room, cmid in sent:
        rs = c.replies.get(rid)
        if rs and rs[0].get("type") == "ok":
            assert rs[0]["room"] == room, rs
            acked[(room, cmid)] = rs[0]["seq"]
        elif rs:
            raise AssertionError(f"msg.send {cmid} got {rs[0]} during the storm")
    assert 0 < len(acked) < TOTAL, (
        f"the kill was not in the middle of the storm: {len(acked)} of {TOTAL} acknowledged ({killed_at} at the kill)"
    )
    print(f"storm: {len(sent)} sent, {len(acked)} acknowledged before the SIGKILL after {time.monotonic() - t0:.2f} s")
    for c in senders:
        await c.close()

    srv2 = server_factory.restart(srv)
    olga, replay = await connect_replay(srv2, "olga", "msl", timeout=60)
    listing = {e["room"]: e for e in (await olga.ok("room.list", 10))["rooms"]}
    assert set(listing) == set(rooms), (
        f"olga's rooms after the crash: lost {set(rooms) - set(listing)}, unexpected {set(listing) - set(rooms)}"
    )

    for room in rooms:
        hist = await full_history(olga, room)
        seqs = [x["seq"] for x in hist]
        assert seqs == list(range(1, len(hist) + 1)), f"room {room}: seqs not gapless 1..n: {seqs[:20]}…"
        assert listing[room]["last_seq"] == len(hist), (listing[room], len(hist))
        counts = Counter(x["client_msg_id"] for x in hist)
        dups = {k: v for k, v in counts.items() if v > 1}
        assert not dups, f"room {room}: client_msg_ids stored more than once: {list(dups.items())[:10]}"
        by_cmid = {x["client_msg_id"]: x for x in hist}
        want = {cmid: seq for (r, cmid), seq in acked.items() if r == room}
        lost = [cmid for cmid in want if cmid not in by_cmid]
        assert not lost, f"room {room}: {len(lost)} acknowledged messages lost, e.g. {lost[:10]}"
        moved = [(cmid, seq, by_cmid[cmid]["seq"]) for cmid, seq in want.items() if by_cmid[cmid]["seq"] != seq]
        assert not moved, f"room {room}: acknowledged messages at another seq after restart: {moved[:10]}"
        for x in hist:
            assert x["body"] == f"storm {x['client_msg_id']}", x
        # olga never acked: everything was replayed to her, in order, before synced
        replayed = [x["seq"] for x in replay if x.get("room") == room]
        assert replayed == seqs, f"room {room}: replay {replayed[:10]}… ≠ history 1..{len(seqs)}"

    # the restarted server keeps numbering where it stopped
    s0 = await srv2.login("s0", "msl")
    r = await send_msg(s0, shared, "after the crash", "after-1")
    assert r["seq"] == listing[shared]["last_seq"] + 1, r


# ---------------------------------------------------------------- torn journal tail


def last_journal_segment(data_dir):
    jdir = data_dir / "journal"
    segs = sorted(p for p in jdir.glob("*.log") if p.stat().st_size > 0) if jdir.is_dir() else []
    assert segs, f"no non-empty journal segment in {jdir}: {list(data_dir.rglob('*'))}"
    return segs[-1]


async def torn_setup(server_factory, n=20, cut=3):
    """A direct room mia–harry with `n` messages, all only in the journal (no snapshot yet), whose
    last record is the last message; SIGKILL, cut `cut` bytes off the journal's end (that record
    is now torn), restart. Returns (server, room, the n oks)."""
    srv = server_factory(snapshot_interval=60, rate_limit=100000)
    h = await srv.login("harry", "hcp")
    m = await srv.login("mia", "msl")
    room = await create_room(m, "direct", ["harry"])
    oks = [await send_msg(m, room, f"torn {i}", f"t-{i}") for i in range(n)]
    assert [o["seq"] for o in oks] == list(range(1, n + 1))
    srv.kill()
    seg = last_journal_segment(srv.data_dir)
    size = seg.stat().st_size
    with open(seg, "r+b") as f:
        f.truncate(size - cut)
    srv2 = server_factory.restart(srv)   # waits for /healthz 200
    return srv2, room, oks


async def test_torn_journal_tail_server_starts_and_serves(server_factory):
    """The restarted server is up and the room is there, its last seq that of the last whole record."""
    srv2, room, oks = await torn_setup(server_factory)
    status, _, _ = srv2.get("/healthz")
    assert status == 200
    assert srv2.process.poll() is None
    m = await srv2.login("mia", "msl")
    rooms = {e["room"]: e for e in (await m.ok("room.list"))["rooms"]}
    assert set(rooms) == {room}, rooms
    assert rooms[room]["last_seq"] == len(oks) - 1, f"the torn last message was not cut: {rooms[room]}"


@pytest.mark.parametrize("cut", [1, 3, 9])
async def test_torn_journal_tail_history_keeps_every_message_but_the_last(server_factory, cut):
    """The torn record (the last message) is cut; every whole one before it is kept, unchanged."""
    srv2, room, oks = await torn_setup(server_factory, cut=cut)
    m = await srv2.login("mia", "msl")
    hist = await full_history(m, room)
    got = [(x["seq"], x["client_msg_id"], x["body"]) for x in hist]
    want = [(o["seq"], o["client_msg_id"], f"torn {i}") for i, o in enumerate(oks)]
    assert got == want[:-1], f"history after a tail torn by {cut} byte(s): {got[-3:]}, expected {want[-4:-1]}"


async def test_torn_journal_tail_then_sending_continues_gapless(server_factory):
    """The next message takes the cut message's seq: no gap, and the cut one stays gone."""
    srv2, room, oks = await torn_setup(server_factory)
    m = await srv2.login("mia", "msl")
    kept = [(x["seq"], x["client_msg_id"]) for x in await full_history(m, room)]
    assert kept == [(o["seq"], o["client_msg_id"]) for o in oks[:-1]], f"the torn record was not cut: {kept[-3:]}"
    n = len(kept)
    r = await send_msg(m, room, "after repair", "t-after")
    assert r["seq"] == n + 1, (n, r)
    hist = [(x["seq"], x["client_msg_id"]) for x in await full_history(m, room)]
    assert hist == kept + [(n + 1, "t-after")], hist[-3:]


async def test_torn_journal_tail_then_new_messages_survive_another_crash(server_factory):
    """What is appended after a cut torn tail must be readable on the next start (the garbage
    must not stay in front of it)."""
    srv2, room, oks = await torn_setup(server_factory)
    m = await srv2.login("mia", "msl")
    kept = [(x["seq"], x["client_msg_id"]) for x in await full_history(m, room)]
    assert kept == [(o["seq"], o["client_msg_id"]) for o in oks[:-1]], f"the torn record was not cut: {kept[-3:]}"
    new = [await send_msg(m, room, f"second life {i}", f"t2-{i}") for i in range(3)]
    want = kept + [(o["seq"], o["client_msg_id"]) for o in new]
    assert [s for s, _ in want] == list(range(1, len(want) + 1)), want
    srv2.kill()
    srv3 = server_factory.restart(srv2)
    m = await srv3.login("mia", "msl")
    got = [(x["seq"], x["client_msg_id"]) for x in await full_history(m, room)]
    assert got == want, f"after a second crash: {got[-6:]} expected {want[-6:]}"


# ---------------------------------------------------------------- snapshot + restart round trip

MODES = [
    "sigterm_after_snapshot",     # snapshot interval 0.5 s, wait 1.6 s, SIGTERM
    "sigkill_after_snapshot",     # snapshot interval 0.5 s, wait 1.6 s, SIGKILL
    "sigkill_journal_only",       # snapshot interval 60 s, SIGKILL at once: all from the journal
    "sigkill_snapshot_then_tail",  # half before a snapshot, the rest (and the cursors) after it, SIGKILL at once
    "sigterm_at_once",            # snapshot interval 60 s, SIGTERM at once
]


async def round_trip(server_factory, mode):
    """mia (msl), harry (hcp), mark (msl); a direct room mia–harry with 5 messages and a group
    'Round trip' (mia, harry, mark) with 7, all from mia. harry acks d:3 g:7 and reads d:2 g:7;
    mark neither acks nor reads. Then the server stops as `mode` says and restarts."""
    interval = 60 if mode in ("sigkill_journal_only", "sigterm_at_once") else 0.5
    srv = server_factory(snapshot_interval=interval, rate_limit=100000)
    k = await srv.login("mark", "msl")
    h = await srv.login("harry", "hcp")
    m = await srv.login("mia", "msl")
    d = await create_room(m, "direct", ["harry"])
    g = await create_room(m, "group", ["harry", "mark"], title="Round trip")
    oks = {d: [], g: []}
    for i in range(5):
        oks[d].append(await send_msg(m, d, f"d{i}", f"d-{i}"))
        if mode == "sigkill_snapshot_then_tail" and i == 1:
            await asyncio.sleep(1.6)
    for i in range(7):
        oks[g].append(await send_msg(m, g, f"g{i}", f"g-{i}"))
    await h.ok("msg.ack", room=d, seq=3)
    await h.ok("msg.read", room=d, seq=2)
    await h.ok("msg.ack", room=g, seq=7)
    await h.ok("msg.read", room=g, seq=7)
    for c in (k, h, m):
        await c.close()
    if mode == "sigterm_after_snapshot":
        await asyncio.sleep(1.6)
        srv.stop_clean()
    elif mode == "sigkill_after_snapshot":
        await asyncio.sleep(1.6)
        srv.kill()
    elif mode == "sigterm_at_once":
        srv.stop_clean()
    else:
        srv.kill()
    srv2 = server_factory.restart(srv)
    return srv2, d, g, oks


@pytest.mark.parametrize("mode", MODES)
async def test_restart_preserves_rooms_and_members(server_factory, mode):
    srv, d, g, _ = await round_trip(server_factory, mode)
    m = await srv.login("mia", "msl")
    rooms = {e["room"]: e for e in (await m.ok("room.list"))["rooms"]}
    assert set(rooms) == {d, g}, rooms
    assert rooms[d]["kind"] == "direct" and member_ids(rooms[d]["members"]) == {"mia", "harry"}, rooms[d]
    assert rooms[g]["kind"] == "group" and rooms[g]["title"] == "Round trip", rooms[g]
    assert member_ids(rooms[g]["members"]) == {"mia", "harry", "mark"}, rooms[g]
    k = await srv.login("mark", "msl")
    assert {e["room"] for e in (await k.ok("room.list"))["rooms"]} == {g}
    # the direct room is still unique for the pair
    assert await create_room(m, "direct", ["harry"]) == d


@pytest.mark.parametrize("mode", MODES)
async def test_restart_preserves_last_seq_and_history(server_factory, mode):
    srv, d, g, oks = await round_trip(server_factory, mode)
    h = await srv.login("harry", "hcp")
    rooms = {e["room"]: e for e in (await h.ok("room.list"))["rooms"]}
    assert rooms[d]["last_seq"] == 5 and rooms[g]["last_seq"] == 7, rooms
    for room in (d, g):
        hist = (await h.ok("room.history", room=room))["messages"]
        got = [(x["seq"], x["client_msg_id"], x["body"], x["ts"], x["from"]) for x in hist]
        want = [(o["seq"], o["client_msg_id"], o["client_msg_id"].replace("-", ""), o["ts"], "mia") for o in oks[room]]
        assert got == want, (got, want)


@pytest.mark.parametrize("mode", MODES)
async def test_restart_preserves_ack_cursors(server_factory, mode):
    srv, d, g, _ = await round_trip(server_factory, mode)
    h, msgs = await connect_replay(srv, "harry", "hcp")
    replay = [(x["room"], x["seq"]) for x in msgs]
    assert replay == [(d, 4), (d, 5)], f"harry acked d:3 g:7, replayed: {replay}"
    k, msgs = await connect_replay(srv, "mark", "msl")
    assert [(x["room"], x["seq"]) for x in msgs] == [(g, s) for s in range(1, 8)], msgs


@pytest.mark.parametrize("mode", MODES)
async def test_restart_preserves_unread(server_factory, mode):
    srv, d, g, _ = await round_trip(server_factory, mode)
    h = await srv.login("harry", "hcp")
    rooms = {e["room"]: e for e in (await h.ok("room.list"))["rooms"]}
    assert rooms[d]["unread"] == 3 and rooms[g]["unread"] == 0, rooms
    k = await srv.login("mark", "msl")
    rooms = {e["room"]: e for e in (await k.ok("room.list"))["rooms"]}
    assert rooms[g]["unread"] == 7, rooms


@pytest.mark.parametrize("mode", MODES)
async def test_restart_preserves_client_msg_id_dedupe(server_factory, mode):
    srv, d, g, oks = await round_trip(server_factory, mode)
    m = await srv.login("mia", "msl")
    for room, cmid, i in ((d, "d-2", 2), (g, "g-0", 0), (g, "g-6", 6)):
        r = await m.ok("msg.send", room=room, body=cmid.replace("-", ""), client_msg_id=cmid)
        first = oks[room][i]
        assert (r["seq"], r["ts"]) == (first["seq"], first["ts"]), (cmid, first, r)
    for room, n in ((d, 5), (g, 7)):
        hist = (await m.ok("room.history", room=room))["messages"]
        assert [x["seq"] for x in hist] == list(range(1, n + 1)), hist


@pytest.mark.parametrize("mode", MODES)
async def test_restart_then_new_messages_continue_the_seq(server_factory, mode):
    srv, d, g, _ = await round_trip(server_factory, mode)
    m = await srv.login("mia", "msl")
    h = await srv.login("harry", "hcp")
    r = await send_msg(m, d, "after restart", "d-new")
    assert r["seq"] == 6, r
    ev = await h.next_event("msg", room=d, seq=6)
    assert ev["client_msg_id"] == "d-new"


@pytest.mark.parametrize("interval", [60, 0.5])
async def test_second_crash_after_restart_keeps_every_message_once(server_factory, interval):
    """Crash, restart, send more, crash again, restart: the journal (and snapshots) are not
    replayed twice and nothing acknowledged in either life is lost."""
    srv = server_factory(snapshot_interval=interval, rate_limit=100000)
    await srv.login("harry", "hcp")
    m = await srv.login("mia", "msl")
    d = await create_room(m, "direct", ["harry"])
    oks = [await send_msg(m, d, f"life1 {i}", f"l1-{i}") for i in range(5)]
    if interval < 1:
        await asyncio.sleep(1.6)
    srv.kill()
    srv = server_factory.restart(srv)
    m = await srv.login("mia", "msl")
    oks += [await send_msg(m, d, f"life2 {i}", f"l2-{i}") for i in range(4)]
    assert [o["seq"] for o in oks] == list(range(1, 10)), oks
    if interval < 1:
        await asyncio.sleep(1.6)
    srv.kill()
    srv = server_factory.restart(srv)
    h, msgs = await connect_replay(srv, "harry", "hcp")
    assert [(x["seq"], x["client_msg_id"]) for x in msgs] == [(o["seq"], o["client_msg_id"]) for o in oks], msgs
    hist = await full_history(h, d)
    assert [(x["seq"], x["client_msg_id"]) for x in hist] == [(o["seq"], o["client_msg_id"]) for o in oks], hist


# ---------------------------------------------------------------- on-disk layout and inspect


async def test_snapshot_writes_room_files_and_journal_segments(server_factory):
    srv = server_factory(snapshot_interval=0.5)
    await srv.login("harry", "hcp")
    m = await srv.login("mia", "msl")
    room = await create_room(m, "direct", ["harry"])
    for i in range(3):
        await send_msg(m, room, f"b{i}")
    jdir = srv.data_dir / "journal"
    assert jdir.is_dir() and [p for p in jdir.iterdir() if re.fullmatch(r"\d{4,}\.log", p.name)], (
        f"journal/NNNN.log segments expected: {list(srv.data_dir.rglob('*'))}"
    )
    rdir = srv.data_dir / "rooms" / room
    deadline = time.monotonic() + 5
    while not (rdir / "meta.json").exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert (rdir / "meta.json").exists(), f"no snapshot of {room} within 5 s: {list(srv.data_dir.rglob('*'))}"
    assert (rdir / "messages.log").exists(), list(rdir.iterdir())


async def inspect_setup(server_factory, stop, interval=0.5):
    """A direct room with 3 messages and a group with 5; wait for a snapshot (if the interval is
    short), then `stop` the server. Returns the server and, per room, the expected table cells."""
    srv = server_factory(snapshot_interval=interval)
    await srv.login("harry", "hcp")
    await srv.login("mark", "msl")
    m = await srv.login("mia", "msl")
    d = await create_room(m, "direct", ["harry"])
    g = await create_room(m, "group", ["harry", "mark"], title="inspected")
    for i in range(5):
        if i < 3:
            await send_msg(m, d, f"d{i}")
        await send_msg(m, g, f"g{i}")
    await m.close()
    if interval < 1:
        await asyncio.sleep(1.2)
    stop(srv)
    return srv, {
        d: {"TENANT": "t1", "KIND": "direct", "MEMBERS": "2", "MESSAGES": "3"},
        g: {"TENANT": "t1", "KIND": "group", "MEMBERS": "3", "MESSAGES": "5"},
    }


INSPECT_COLUMNS = ["ROOM", "TENANT", "KIND", "MEMBERS", "MESSAGES", "SNAPSHOT"]
SNAPSHOT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def inspect_table(stdout: str) -> dict[str, dict[str, str]]:
    """The rooms table of `liaison inspect` (a ROOM TENANT KIND MEMBERS MESSAGES SNAPSHOT header,
    then one row a room up to a blank line), read by column position: room -> {column: cell}."""
    lines = stdout.splitlines()
    at = [i for i, ln in enumerate(lines) if ln.split() == INSPECT_COLUMNS]
    assert len(at) == 1, f"expected one {' '.join(INSPECT_COLUMNS)} header:\n{stdout}"
    header = lines[at[0]]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    ends = starts[1:] + [None]
    rows: dict[str, dict[str, str]] = {}
    for ln in lines[at[0] + 1:]:
        if not ln.strip():
            break
        for s in starts[1:]:
            assert len(ln) > s and ln[s - 1] == " ", f"row not aligned with the header:\n{header}\n{ln}"
        row = {c: ln[a:b].strip() for c, a, b in zip(INSPECT_COLUMNS, starts, ends)}
        assert all(row.values()) and not any(" " in v for v in row.values()), f"row {ln!r} read as {row}"
        assert row["ROOM"] not in rows, f"room listed twice:\n{stdout}"
        rows[row["ROOM"]] = row
    return rows


def check_inspect(srv, expected, snapshot: bool):
    """`liaison inspect` lists exactly the expected rooms with the expected cells; the SNAPSHOT
    column has a time if a snapshot was written, none otherwise."""
    r = run_cli("inspect", str(srv.data_dir))
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    rows = inspect_table(r.stdout)
    assert set(rows) == set(expected), f"inspect lists rooms {sorted(rows)}, expected {sorted(expected)}:\n{r.stdout}"
    for room, want in expected.items():
        got = {c: rows[room][c] for c in want}
        assert got == want, f"inspect row of {room}: {got}, expected {want}:\n{r.stdout}"
        snap = rows[room]["SNAPSHOT"]
        assert bool(SNAPSHOT_TIME.fullmatch(snap)) == snapshot, (
            f"{room}: SNAPSHOT {snap!r}, expected {'a time' if snapshot else 'none'}:\n{r.stdout}"
        )


async def test_inspect_after_clean_stop_lists_rooms_and_message_counts(server_factory):
    srv, expected = await inspect_setup(server_factory, lambda s: s.stop_clean())
    check_inspect(srv, expected, snapshot=True)


async def test_inspect_after_sigkill_lists_rooms_and_message_counts(server_factory):
    srv, expected = await inspect_setup(server_factory, lambda s: s.kill())
    check_inspect(srv, expected, snapshot=True)


async def test_inspect_after_sigkill_before_any_snapshot_lists_rooms_and_message_counts(server_factory):
    """Rooms that so far live only in the journal are still the data dir's rooms."""
    srv, expected = await inspect_setup(server_factory, lambda s: s.kill(), interval=60)
    check_inspect(srv, expected, snapshot=False)
