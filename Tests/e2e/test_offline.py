"""Offline queue: unacked messages are replayed after hello, in seq order per room, before
`synced`, on every connect until acked (protocol.md § Offline queue)."""

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
