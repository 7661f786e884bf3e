"""Chat: msg.send (seq, fan-out, idempotency, limits), msg.read receipts, typing, history paging
(protocol.md § Rooms and chat)."""

import time

from liaison_helpers import create_room, now_ms, send_many, send_msg

MSG_FIELDS = {"room", "seq", "from", "body", "ts", "client_msg_id", "kind"}


async def pair(srv):
    """mia (msl) and harry (hcp) in a direct room."""
    h = await srv.login("harry", "hcp")
    m = await srv.login("mia", "msl")
    room = await create_room(m, "direct", ["harry"])
    return m, h, room


# ---------------------------------------------------------------- msg.send


async def test_msg_send_ok_has_room_seq_ts(chat_server):
    m, h, room = await pair(chat_server)
    before = now_ms()
    r = await m.ok("msg.send", room=room, body="hello", client_msg_id="c-1")
    after = now_ms()
    assert r["room"] == room, r
    assert r["seq"] == 1, r
    assert isinstance(r["ts"], int) and before - 2000 <= r["ts"] <= after + 2000, r


async def test_seq_is_gapless_from_one_per_room(chat_server):
    m, h, d = await pair(chat_server)
    g = await create_room(m, "group", ["harry"], title="g")
    seqs = {d: [], g: []}
    for i in range(12):
        room = d if i % 3 else g
        r = await send_msg(m, room, f"b{i}", f"c-{i}")
        assert r["room"] == room
        seqs[room].append(r["seq"])
    # harry sends too: the room's sequence is shared by all senders
    r = await send_msg(h, d, "from harry", "h-1")
    seqs[d].append(r["seq"])
    assert seqs[d] == list(range(1, len(seqs[d]) + 1)), seqs
    assert seqs[g] == list(range(1, len(seqs[g]) + 1)), seqs


async def test_msg_fans_out_to_every_device_of_every_member_including_senders_other_device(chat_server):
    srv = chat_server
    m1 = await srv.login("mia", "msl", device="phone")
    m2 = await srv.login("mia", "msl", device="laptop")
    h1 = await srv.login("harry", "hcp", device="phone")
    h2 = await srv.login("harry", "hcp", device="ipad")
    k = await srv.login("mark", "msl")
    outsider = await srv.login("nora", "msl")
    room = await create_room(m1, "group", ["harry", "mark"], title="fan-out")
    r = await send_msg(m1, room, "to everyone", "fan-1")
    for c in (m2, h1, h2, k):
        ev = await c.next_event("msg", room=room, seq=r["seq"])
        assert MSG_FIELDS <= set(ev), f"msg event lacks fields: {ev}"
        assert ev["from"] == "mia" and ev["body"] == "to everyone", ev
        assert ev["client_msg_id"] == "fan-1" and ev["ts"] == r["ts"] and ev["kind"] == "text", ev
    await outsider.no_event("msg", 0.3)


async def test_msg_events_reach_members_in_seq_order(chat_server):
    m, h, room = await pair(chat_server)
    oks = await send_many(m, room, 50, prefix="ord")
    want = [o["seq"] for o in oks]
    got = []
    for _ in range(50):
        ev = await h.next_event("msg", room=room)
        got.append(ev["seq"])
    assert got == sorted(want) == list(range(1, 51)), got


async def test_resend_same_client_msg_id_returns_same_seq_and_ts(chat_server):
    m, h, room = await pair(chat_server)
    r1 = await m.ok("msg.send", room=room, body="once", client_msg_id="dup-1")
    await send_msg(m, room, "other", "other-1")
    r2 = await m.ok("msg.send", room=room, body="once", client_msg_id="dup-1")
    assert (r2["room"], r2["seq"], r2["ts"]) == (r1["room"], r1["seq"], r1["ts"]), (r1, r2)


async def test_resend_same_client_msg_id_creates_no_second_message(chat_server):
    m, h, room = await pair(chat_server)
    await m.ok("msg.send", room=room, body="once", client_msg_id="dup-1")
    await m.ok("msg.send", room=room, body="once", client_msg_id="dup-1")
    await m.ok("msg.send", room=room, body="once", client_msg_id="dup-1")
    r = await m.ok("msg.send", room=room, body="next", client_msg_id="dup-2")
    assert r["seq"] == 2, f"the resends took seqs: {r}"
    msgs = (await h.ok("room.history", room=room))["messages"]
    assert [x["client_msg_id"] for x in msgs] == ["dup-1", "dup-2"], msgs
    assert [x["seq"] for x in msgs] == [1, 2], msgs


async def test_same_client_msg_id_in_another_room_is_a_new_message(chat_server):
    m, h, d = await pair(chat_server)
    g = await create_room(m, "group", ["harry"], title="g")
    await send_msg(m, d, "x", "cm-shared")
    await send_msg(m, g, "y", "cm-other")
    r = await m.ok("msg.send", room=g, body="z", client_msg_id="cm-shared")
    assert r["room"] == g and r["seq"] == 2, r


async def test_body_over_16_kib_is_too_large(chat_server):
    m, h, room = await pair(chat_server)
    await m.error("msg.send", "too_large", room=room, body="x" * (16 * 1024 + 1), client_msg_id="big-1", malformed=True)
    assert m.is_open
    assert (await m.ok("room.history", room=room))["messages"] == []
    await h.no_event("msg", 0.2)


async def test_body_of_exactly_16_kib_is_accepted(chat_server):
    m, h, room = await pair(chat_server)
    r = await send_msg(m, room, "x" * (16 * 1024), "max-1")
    ev = await h.next_event("msg", room=room, seq=r["seq"])
    assert len(ev["body"]) == 16 * 1024


async def test_empty_body_is_bad_request(chat_server):
    m, h, room = await pair(chat_server)
    await m.error("msg.send", "bad_request", room=room, body="", client_msg_id="e-1", malformed=True)
    assert (await m.ok("room.history", room=room))["messages"] == []


async def test_missing_body_is_bad_request(chat_server):
    m, h, room = await pair(chat_server)
    await m.error("msg.send", "bad_request", room=room, client_msg_id="e-2", malformed=True)
    assert (await m.ok("room.history", room=room))["messages"] == []


async def test_non_string_body_is_bad_request(chat_server):
    m, h, room = await pair(chat_server)
    await m.error("msg.send", "bad_request", room=room, body=42, client_msg_id="e-3", malformed=True)
    assert (await m.ok("room.history", room=room))["messages"] == []


async def test_admin_sending_is_forbidden(chat_server):
    admin = await chat_server.login("root", "admin")
    m, h, room = await pair(chat_server)
    await admin.error("msg.send", "forbidden", room=room, body="ops here", client_msg_id="adm-1")
    assert (await m.ok("room.history", room=room))["messages"] == []


# ---------------------------------------------------------------- receipts and typing


async def test_msg_read_sends_receipt_to_other_members(chat_server):
    srv = chat_server
    k = await srv.login("mark", "msl")
    m, h, _ = await pair(srv)
    room = await create_room(m, "group", ["harry", "mark"], title="g")
    r = await send_msg(m, room, "read me")
    await h.ok("msg.read", room=room, seq=r["seq"])
    for c in (m, k):
        ev = await c.next_event("receipt", room=room, user="harry")
        assert ev["seq"] == r["seq"], ev


async def test_typing_reaches_other_members_not_the_typer(chat_server):
    srv = chat_server
    k = await srv.login("mark", "msl")
    m, h, _ = await pair(srv)
    room = await create_room(m, "group", ["harry", "mark"], title="g")
    await h.ok("typing", room=room)
    for c in (m, k):
        ev = await c.next_event("typing", room=room)
        assert ev["user"] == "harry", ev
    await h.no_event("typing", 0.3)
    # not stored
    assert (await m.ok("room.history", room=room))["messages"] == []


# ---------------------------------------------------------------- history


async def test_history_pages_newest_last_with_before(chat_server):
    m, h, room = await pair(chat_server)
    oks = await send_many(m, room, 150, prefix="hist")
    assert sorted(o["seq"] for o in oks) == list(range(1, 151))
    page1 = (await h.ok("room.history", room=room, limit=100))["messages"]
    assert [x["seq"] for x in page1] == list(range(51, 151)), [x["seq"] for x in page1][:5]
    for x in page1:
        assert MSG_FIELDS <= set(x), f"history message lacks fields: {x}"
        assert x["room"] == room and x["from"] == "mia" and x["kind"] == "text", x
    by_seq = {o["seq"]: o for o in oks}
    assert all(x["client_msg_id"] == by_seq[x["seq"]]["client_msg_id"] for x in page1)
    page2 = (await h.ok("room.history", room=room, before=page1[0]["seq"], limit=100))["messages"]
    assert [x["seq"] for x in page2] == list(range(1, 51)), [x["seq"] for x in page2][:5]
    assert [x["body"] for x in page2] == [by_seq[s]["client_msg_id"].replace("hist-", "hist body ") for s in range(1, 51)]
    page3 = (await h.ok("room.history", room=room, before=1, limit=100))["messages"]
    assert page3 == []


async def test_history_limit_over_100_is_bad_request(chat_server):
    m, h, room = await pair(chat_server)
    await send_msg(m, room, "one")
    await h.error("room.history", "bad_request", room=room, limit=101, malformed=True)


async def test_history_small_limit_returns_newest(chat_server):
    m, h, room = await pair(chat_server)
    for i in range(5):
        await send_msg(m, room, f"b{i}", f"c{i}")
    msgs = (await h.ok("room.history", room=room, limit=2))["messages"]
    assert [(x["seq"], x["body"]) for x in msgs] == [(4, "b3"), (5, "b4")], msgs


async def test_resend_after_more_than_a_thousand_later_messages_still_returns_first_ok(server_factory):
    """The protocol bounds idempotency by nothing but the room: an old client_msg_id still dedupes,
    also once snapshots have archived it (snapshot interval 0.5 s, then a pause)."""
    import asyncio

    srv = server_factory(rate_limit=100000, snapshot_interval=0.5)
    m, h, room = await pair(srv)
    first = await m.ok("msg.send", room=room, body="early", client_msg_id="early-1")
    oks = await send_many(m, room, 1100, prefix="later")
    assert oks[-1]["seq"] == 1101
    await asyncio.sleep(1.5)
    await send_msg(m, room, "one more", "later-x")          # seq 1102
    r = await m.ok("msg.send", room=room, body="early", client_msg_id="early-1")
    assert (r["seq"], r["ts"]) == (first["seq"], first["ts"]), (first, r)
    last = (await m.ok("room.history", room=room, limit=1))["messages"]
    assert [x["seq"] for x in last] == [1102], last


# ---------------------------------------------------------------- audit


async def test_messages_are_audited_with_sha256_not_the_body(chat_server):
    import asyncio
    import hashlib

    srv = chat_server
    m, h, room = await pair(srv)
    body = "confidential-marker-" + "7f3a9c" * 4
    r = await send_msg(m, room, body, "aud-1")
    await m.close()
    await h.close()
    code = await asyncio.to_thread(srv.stop, 5)
    assert code == 0
    text = srv.audit_log.read_text()
    assert "confidential-marker" not in text, "a message body reached the audit log"
    digest = hashlib.sha256(body.encode()).hexdigest()
    lines = [ln for ln in text.splitlines() if digest in ln]
    assert lines, f"no audit record carries the body's SHA-256 {digest}"
    assert room in lines[0] and "mia" in lines[0], lines[0]
