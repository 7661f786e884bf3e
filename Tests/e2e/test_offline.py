"""Offline queue: unacked messages are replayed after hello, in seq order per room, before
`synced`, on every connect until acked (protocol.md § Offline queue)."""

import asyncio
import socket
import time

import pytest

from liaison_helpers import connect_replay, create_room, send_many

N = 200


async def offline_setup(srv, offline=("harry",)):
    """mia (msl) creates a group with the offline users (who connected once, so they are known,
    then left) and sends N messages. Returns (mia, room, oks)."""
    for user in offline:
        c = await srv.login(user, "hcp" if user == "harry" else "msl")
        await c.close()
    m = await srv.login("mia", "msl")
    room = await create_room(m, "group", list(offline), title="offline")
    oks = await send_many(m, room, N, prefix="off")
    assert [o["seq"] for o in oks] == list(range(1, N + 1))
    return m, room, oks


def seqs_in(msgs, room):
    return [x["seq"] for x in msgs if x.get("room") == room]


async def test_offline_member_gets_all_200_in_order_before_synced(chat_server):
    m, room, oks = await offline_setup(chat_server)
    h, msgs = await connect_replay(chat_server, "harry", "hcp")
    assert seqs_in(msgs, room) == list(range(1, N + 1)), seqs_in(msgs, room)[:10]
    by_seq = {o["seq"]: o for o in oks}
    for x in msgs:
        assert x["from"] == "mia" and x["client_msg_id"] == by_seq[x["seq"]]["client_msg_id"], x
        assert x["body"] == f"off body {x['seq'] - 1}", x


async def test_unacked_messages_are_replayed_again_on_next_connect(chat_server):
    m, room, oks = await offline_setup(chat_server)
    h, msgs = await connect_replay(chat_server, "harry", "hcp")
    assert seqs_in(msgs, room) == list(range(1, N + 1))
    await h.close()
    h, msgs = await connect_replay(chat_server, "harry", "hcp")
    assert seqs_in(msgs, room) == list(range(1, N + 1)), seqs_in(msgs, room)[:10]


async def test_acked_messages_are_not_replayed_but_synced_still_comes(chat_server):
    m, room, oks = await offline_setup(chat_server)
    h, msgs = await connect_replay(chat_server, "harry", "hcp")
    assert len(seqs_in(msgs, room)) == N
    await h.ok("msg.ack", room=room, seq=N)
    await h.close()
    h, msgs = await connect_replay(chat_server, "harry", "hcp")   # waits for synced
    assert seqs_in(msgs, room) == [], seqs_in(msgs, room)[:10]
    await h.no_event("msg", 0.3, room=room)


async def test_ack_is_cumulative(chat_server):
    m, room, oks = await offline_setup(chat_server)
    h, msgs = await connect_replay(chat_server, "harry", "hcp")
    await h.ok("msg.ack", room=room, seq=150)
    await h.close()
    h, msgs = await connect_replay(chat_server, "harry", "hcp")
    assert seqs_in(msgs, room) == list(range(151, N + 1)), seqs_in(msgs, room)[:10]
    # an older ack does not move the cursor back
    await h.ok("msg.ack", room=room, seq=10)
    await h.close()
    h, msgs = await connect_replay(chat_server, "harry", "hcp")
    assert seqs_in(msgs, room) == list(range(151, N + 1)), seqs_in(msgs, room)[:10]


async def test_ack_is_per_user_not_per_device_and_not_shared_with_others(chat_server):
    m, room, oks = await offline_setup(chat_server, offline=("harry", "mark"))
    h, msgs = await connect_replay(chat_server, "harry", "hcp", device="phone")
    assert len(seqs_in(msgs, room)) == N
    await h.ok("msg.ack", room=room, seq=N)
    await h.close()
    # harry's other device: nothing to replay (the ack is the user's)
    h2, msgs = await connect_replay(chat_server, "harry", "hcp", device="tablet")
    assert seqs_in(msgs, room) == [], seqs_in(msgs, room)[:10]
    # mark never acked: he gets all of them
    k, msgs = await connect_replay(chat_server, "mark", "msl")
    assert seqs_in(msgs, room) == list(range(1, N + 1)), seqs_in(msgs, room)[:10]


async def test_replay_covers_every_room_in_seq_order_per_room(chat_server):
    srv = chat_server
    c = await srv.login("harry", "hcp")
    await c.close()
    m = await srv.login("mia", "msl")
    k = await srv.login("mark", "msl")
    g1 = await create_room(m, "group", ["harry"], title="one")
    g2 = await create_room(k, "group", ["harry"], title="two")
    for i in range(30):
        await m.ok("msg.send", room=g1, body=f"a{i}", client_msg_id=f"a{i}")
        await k.ok("msg.send", room=g2, body=f"b{i}", client_msg_id=f"b{i}")
    h, msgs = await connect_replay(srv, "harry", "hcp")
    assert seqs_in(msgs, g1) == list(range(1, 31)), seqs_in(msgs, g1)
    assert seqs_in(msgs, g2) == list(range(1, 31)), seqs_in(msgs, g2)
    await h.ok("msg.ack", room=g1, seq=30)
    await h.close()
    h, msgs = await connect_replay(srv, "harry", "hcp")
    assert seqs_in(msgs, g1) == [] and seqs_in(msgs, g2) == list(range(1, 31)), msgs[:3]


async def test_messages_sent_while_connected_are_replayed_until_acked(chat_server):
    srv = chat_server
    m = await srv.login("mia", "msl")
    h = await srv.login("harry", "hcp")
    room = await create_room(m, "direct", ["harry"])
    await send_many(m, room, 5, prefix="live")
    for s in range(1, 6):
        await h.next_event("msg", room=room, seq=s)
    await h.close()   # received live, never acked
    h, msgs = await connect_replay(srv, "harry", "hcp")
    assert seqs_in(msgs, room) == [1, 2, 3, 4, 5], msgs


@pytest.mark.parametrize(
    "outbox,n",
    [(256 * 1024, 600), (None, 5000)],
    ids=["outbox-256KiB-backlog-600KiB", "default-outbox-backlog-5MiB"],
)
async def test_replay_larger_than_the_outbox_limit_still_completes(server_factory, outbox, n):
    """A backlog bigger than the per-connection outbox must still reach the user (paced), not
    close every connect with 4008 — else the user could never sync again."""
    flags = dict(rate_limit=100000, heartbeat=10)
    if outbox:
        flags["outbox_limit_bytes"] = outbox
    srv = server_factory(**flags)
    c = await srv.login("harry", "hcp")
    await c.close()
    m = await srv.login("mia", "msl")
    room = await create_room(m, "direct", ["harry"])
    rids = []
    for i in range(n):
        rids.append(await m.send("msg.send", room=room, body=f"{i:05d}" + "x" * 1024, client_msg_id=f"big-{i}"))
        if i >= 32:
            await m.reply(rids[i - 32], 30)
    for rid in rids:
        assert (await m.reply(rid, 30))["type"] == "ok"
    # mia's own connection got the live fan-out; make sure it survived too (not the point here)
    h, msgs = await connect_replay(srv, "harry", "hcp", timeout=60)
    assert seqs_in(msgs, room) == list(range(1, n + 1)), (len(msgs), h.close_code)


async def test_messages_sent_during_replay_arrive_in_order_without_gaps(chat_server):
    """While a member's 1,000-message backlog is being replayed, more messages are sent: the
    member sees every seq, first occurrences strictly increasing (duplicates are allowed)."""
    import asyncio

    srv = chat_server
    c = await srv.login("harry", "hcp")
    await c.close()
    m = await srv.login("mia", "msl")
    room = await create_room(m, "direct", ["harry"])
    await send_many(m, room, 1000, prefix="pre")

    async def more():
        return await send_many(m, room, 100, prefix="during", window=4)

    sender = asyncio.create_task(more())
    h, _ = await connect_replay(srv, "harry", "hcp")
    oks = await asyncio.wait_for(sender, 60)
    last = oks[-1]["seq"]
    assert last == 1100
    await h._wait(lambda: any(f.get("type") == "msg" and f.get("seq") == last for f in h.frames if isinstance(f, dict)),
                  10, f"msg seq {last}")
    seen, order = set(), []
    for f in h.frames:
        if isinstance(f, dict) and f.get("type") == "msg" and f.get("room") == room and f["seq"] not in seen:
            seen.add(f["seq"])
            order.append(f["seq"])
    assert order == list(range(1, last + 1)), [
        (i, s) for i, s in enumerate(order) if i == 0 or s != order[i - 1] + 1
    ][:10]


async def test_room_left_is_not_replayed(chat_server):
    srv = chat_server
    await srv.login("mark", "msl")
    m = await srv.login("mia", "msl")
    h = await srv.login("harry", "hcp")
    room = await create_room(m, "group", ["harry", "mark"], title="g")
    await send_many(m, room, 5, prefix="pre-leave")
    await h.ok("room.leave", room=room)
    await h.close()
    await send_many(m, room, 5, prefix="post-leave")
    h, msgs = await connect_replay(srv, "harry", "hcp")
    assert seqs_in(msgs, room) == [], msgs


# ---------------------------------------------------------------- a long replay under live load

# On loopback the server's socket send buffer grows to ~4 MB and swallows that much of a replay at
# once; a replay no bigger than that is over (and the gate open) long before the reader has read it,
# and hardly any live message is ever held. So the backlog is well above it (~6.4 MB, 25 times the
# outbox limit) and the member's receive buffer is small: the rest of the replay goes at the
# reader's pace, for seconds, while ~1,000 live msgs/s arrive behind the gate.
LOAD_BACKLOG = 10000         # messages sent while the member is away
LOAD_PAD = "x" * 480         # ~500-byte bodies: ~640-byte frames
LOAD_OUTBOX = 256 * 1024     # --outbox-limit-bytes
LOAD_RATE = 1000.0           # live msgs/s while the member syncs
LOAD_AFTER_SYNCED = 2.0      # s of live traffic after `synced`
LOAD_MAX = 20.0              # s: the live sender stops by then in any case
LOAD_PAUSE = (20, 0.005)     # the member's reader sleeps 5 ms every 20 frames (< 4,000 frames/s)
LOAD_RCVBUF = 64 * 1024      # the member's socket receive buffer


async def pump(c, room: str, prefix: str, sent: list, *, count: int | None = None, rate: float | None = None,
               stop: asyncio.Event | None = None, max_s: float = 60.0, window: int = 64) -> dict[int, tuple[str, str]]:
    """Send `msg.send` to `room` (client_msg_ids `{prefix}-{i}`, ~500-byte bodies): `count` of them,
    or until `stop` is set, for at most `max_s` seconds; `rate` per second (None: as fast as `window`
    unanswered ones allow). Each is appended to `sent` as it goes out. Returns seq ->
    (client_msg_id, body) once every reply is in (each must be `ok`)."""
    t0 = time.monotonic()
    done = 0
    i = 0
    while (count is None or i < count) and not (stop is not None and stop.is_set()) and time.monotonic() - t0 < max_s:
        if rate:
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        cmid, body = f"{prefix}-{i}", f"{prefix} {i} {LOAD_PAD}"
        sent.append((await c.send("msg.send", room=room, body=body, client_msg_id=cmid), cmid, body))
        i += 1
        while len(sent) - done >= window:
            await c.reply(sent[done][0], 30)
            done += 1
    out = {}
    for rid, cmid, body in sent:
        r = await c.reply(rid, 30)
        assert r.get("type") == "ok", f"msg.send {cmid} expected ok, got {r}"
        out[r["seq"]] = (cmid, body)
    return out


def room_msgs(frames: list, room: str) -> list[dict]:
    return [f for f in frames if isinstance(f, dict) and f.get("type") == "msg" and f.get("room") == room]


def seq_span(msgs: list[dict]) -> str:
    return f"{len(msgs)} msgs, seqs {msgs[0]['seq']}..{msgs[-1]['seq']}" if msgs else "no msgs"


async def test_long_backlog_replayed_while_the_room_gets_1000_msgs_per_s_live_completes_synced_without_4008(
    server_factory,
):
    """harry's backlog (many times the outbox limit) is replayed to a slow-ish reader while the
    room gets ~1,000 msgs/s live: every backlog message in seq order, then `synced`, then the live
    ones, continuing in seq order without gap or duplicate — and the connection stays open (what
    the gate held during the replay must not overflow the outbox: no 4008)."""
    # heartbeat 30: the slow reader lags the server by what the kernel's socket buffers hold, and its answer
    # to a ping waits behind that; the keepalive must not be what ends it here
    srv = server_factory(outbox_limit_bytes=LOAD_OUTBOX, rate_limit=5000, heartbeat=30)
    c = await srv.login("harry", "hcp")
    await c.close()
    m = await srv.login("mia", "msl")
    room = await create_room(m, "group", ["harry"], title="busy")
    by_seq = await pump(m, room, "back", [], count=LOAD_BACKLOG)
    assert sorted(by_seq) == list(range(1, LOAD_BACKLOG + 1))

    # mia keeps sending live from before harry connects until after he synced (bounded)
    live_sent: list = []
    stop = asyncio.Event()
    live = asyncio.create_task(pump(m, room, "live", live_sent, rate=LOAD_RATE, stop=stop, max_s=LOAD_MAX))
    try:
        await asyncio.sleep(0.3)
        h = await srv.connect(label="t1/harry/dev1")
        h.read_pause_every, h.read_pause = LOAD_PAUSE
        h.ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LOAD_RCVBUF)
        t_hello, live_at_hello = time.monotonic(), len(live_sent)
        r = await h.request("hello", 10, token=srv.token("harry", "hcp"), device="dev1", client="liaison-e2e/1")
        assert r.get("type") == "ok", r
        try:
            await h.next_event("synced", 60)
        except AssertionError:
            raise AssertionError(
                f"no synced: close code {h.close_code} {h.ws.close_reason!r} after "
                f"{seq_span(room_msgs(h.frames, room))} in {time.monotonic() - t_hello:.2f} s; "
                f"{len(live_sent) - live_at_hello} live msgs sent meanwhile"
            ) from None
        t_synced, live_at_synced = time.monotonic(), len(live_sent)
        assert not live.done(), f"the live sender stopped before the sync was over: {live}"
        try:
            await asyncio.wait_for(h.closed.wait(), LOAD_AFTER_SYNCED)
        except asyncio.TimeoutError:
            pass
    finally:
        stop.set()
        await asyncio.wait([live], timeout=60)
    by_seq.update(live.result())
    last = max(by_seq)
    assert sorted(by_seq) == list(range(1, last + 1)), "the senders' seqs have a gap"

    at = [i for i, f in enumerate(h.frames) if isinstance(f, dict) and f.get("type") == "synced"]
    try:
        await h._wait(lambda: any(x["seq"] == last for x in room_msgs(h.frames[-50:], room)), 30, f"msg seq {last}")
    except AssertionError:
        raise AssertionError(
            f"after synced: close code {h.close_code} {h.ws.close_reason!r}, "
            f"{seq_span(room_msgs(h.frames[at[0] + 1:], room))} received, the room is at {last}"
        ) from None

    assert len(at) == 1, f"{len(at)} synced events"
    before, after = room_msgs(h.frames[: at[0]], room), room_msgs(h.frames[at[0] + 1:], room)
    pre, post = [x["seq"] for x in before], [x["seq"] for x in after]
    print(
        f"replay of {len(pre)} msgs in {t_synced - t_hello:.2f} s, {live_at_synced - live_at_hello} live msgs sent "
        f"meanwhile; {len(post)} msgs after synced; {len(live_sent)} live msgs in all"
    )
    # every backlog message (and those sent before the replay reached them) in seq order, then synced
    assert len(pre) >= LOAD_BACKLOG, f"only {len(pre)} msgs before synced"
    assert pre == list(range(1, len(pre) + 1)), [(i, s) for i, s in enumerate(pre) if s != i + 1][:10]
    # then the live ones from the next seq on: in order, no gap, no duplicate
    assert post == list(range(len(pre) + 1, last + 1)), [
        (i, s) for i, s in enumerate(post) if s != len(pre) + 1 + i
    ][:10]
    for x in before + after:
        assert (x["client_msg_id"], x["body"]) == by_seq[x["seq"]], x
    # the live traffic really overlapped the replay (else this proves nothing)
    assert live_at_synced - live_at_hello >= 500, f"only {live_at_synced - live_at_hello} live msgs during the sync"
    assert h.is_open and h.close_code is None, f"closed with {h.close_code} {h.ws.close_reason!r}"
