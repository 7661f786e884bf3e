"""Rooms: room.create (direct/group), room.invite, room.leave, room.list, and their policy
(protocol.md § Rooms and chat, § Tenancy and roles)."""

from liaison_helpers import create_room, member_ids, send_msg


def listed(reply: dict, room: str) -> dict:
    rooms = reply.get("rooms")
    assert isinstance(rooms, list), f"room.list without a rooms list: {reply}"
    found = [r for r in rooms if r.get("room") == room]
    assert len(found) == 1, f"expected room {room} once in room.list, got {rooms}"
    return found[0]


def listed_ids(reply: dict) -> set[str]:
    return {r.get("room") for r in reply["rooms"]}


# ---------------------------------------------------------------- direct rooms


async def test_hcp_creates_direct_room_with_msl(chat_server):
    h = await chat_server.login("harry", "hcp")
    m = await chat_server.login("mia", "msl")
    room = await create_room(h, "direct", ["mia"])
    for c in (h, m):
        e = listed(await c.ok("room.list"), room)
        assert e["kind"] == "direct", e
        assert member_ids(e["members"]) == {"harry", "mia"}, e


async def test_creating_direct_room_again_returns_same_room(chat_server):
    h = await chat_server.login("harry", "hcp")
    m = await chat_server.login("mia", "msl")
    r1 = await create_room(h, "direct", ["mia"])
    r2 = await create_room(h, "direct", ["mia"])
    assert r1 == r2
    # from the other side too: the pair has one direct room
    r3 = await create_room(m, "direct", ["harry"])
    assert r3 == r1
    rooms = [e for e in (await h.ok("room.list"))["rooms"] if e.get("kind") == "direct"]
    assert [e["room"] for e in rooms] == [r1], rooms


async def test_hcp_direct_room_with_hcp_is_forbidden(chat_server):
    await chat_server.login("helen", "hcp")
    h = await chat_server.login("harry", "hcp")
    await h.error("room.create", "forbidden", kind="direct", members=["helen"])
    assert (await h.ok("room.list"))["rooms"] == []


async def test_hcp_direct_room_with_fmd_is_forbidden(chat_server):
    await chat_server.login("fiona", "fmd")
    h = await chat_server.login("harry", "hcp")
    await h.error("room.create", "forbidden", kind="direct", members=["fiona"])
    assert (await h.ok("room.list"))["rooms"] == []


async def test_fmd_direct_room_with_hcp_is_forbidden(chat_server):
    await chat_server.login("harry", "hcp")
    f = await chat_server.login("fiona", "fmd")
    await f.error("room.create", "forbidden", kind="direct", members=["harry"])


async def test_fmd_creates_direct_room_with_msl(chat_server):
    f = await chat_server.login("fiona", "fmd")
    m = await chat_server.login("mia", "msl")
    room = await create_room(f, "direct", ["mia"])
    e = listed(await m.ok("room.list"), room)
    assert e["kind"] == "direct" and member_ids(e["members"]) == {"fiona", "mia"}, e


async def test_fmd_creates_direct_room_with_fmd(chat_server):
    f = await chat_server.login("fiona", "fmd")
    await chat_server.login("fred", "fmd")
    room = await create_room(f, "direct", ["fred"])
    e = listed(await f.ok("room.list"), room)
    assert member_ids(e["members"]) == {"fiona", "fred"}, e


async def test_direct_room_with_unknown_user_is_not_found(chat_server):
    m = await chat_server.login("mia", "msl")
    await m.error("room.create", "not_found", kind="direct", members=["nobody-at-all"])


async def test_direct_room_with_user_of_other_tenant_is_not_found(chat_server):
    await chat_server.login("xavier", "msl", tenant="t2")
    m = await chat_server.login("mia", "msl", tenant="t1")
    r = await m.error("room.create", "not_found", kind="direct", members=["xavier"])
    assert "t2" not in r.get("message", ""), r


async def test_user_provisioned_by_admin_can_be_named_in_room_create(chat_server):
    admin = await chat_server.login("root", "admin")
    await admin.ok("user.put", user="paula", role="msl", name="Paula P", areas=[])
    h = await chat_server.login("harry", "hcp")
    room = await create_room(h, "direct", ["paula"])
    e = listed(await h.ok("room.list"), room)
    assert member_ids(e["members"]) == {"harry", "paula"}, e


# ---------------------------------------------------------------- group rooms


async def test_msl_creates_group_room_and_members_get_joined_events(chat_server):
    h = await chat_server.login("harry", "hcp")
    f = await chat_server.login("fiona", "fmd")
    k = await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["harry", "fiona", "mark"], title="Tumour board")
    for c, user in ((h, "harry"), (f, "fiona"), (k, "mark")):
        ev = await c.next_event("room.member", room=room, user=user)
        assert ev["action"] == "joined", ev
    e = listed(await m.ok("room.list"), room)
    assert e["kind"] == "group" and e["title"] == "Tumour board", e
    assert member_ids(e["members"]) == {"mia", "harry", "fiona", "mark"}, e
    for c in (h, f, k):
        assert room in listed_ids(await c.ok("room.list"))


async def test_invite_by_msl_of_hcp_is_ok_and_invitee_gets_joined(chat_server):
    h = await chat_server.login("harry", "hcp")
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["mark"], title="g")
    await m.ok("room.invite", room=room, user="harry")
    ev = await h.next_event("room.member", room=room, user="harry")
    assert ev["action"] == "joined", ev
    e = listed(await h.ok("room.list"), room)
    assert member_ids(e["members"]) == {"mia", "mark", "harry"}, e


async def test_invite_notifies_existing_members_with_joined(chat_server):
    await chat_server.login("harry", "hcp")
    k = await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["mark"], title="g")
    await k.next_event("room.member", room=room, user="mark")
    await m.ok("room.invite", room=room, user="harry")
    for c in (k, m):
        ev = await c.next_event("room.member", room=room, user="harry")
        assert ev["action"] == "joined", ev


async def test_invite_by_msl_of_fmd_is_ok(chat_server):
    f = await chat_server.login("fiona", "fmd")
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["mark"], title="g")
    await m.ok("room.invite", room=room, user="fiona")
    ev = await f.next_event("room.member", room=room, user="fiona")
    assert ev["action"] == "joined", ev
    await send_msg(f, room, "hello from fiona")


async def test_invite_by_fmd_of_hcp_is_forbidden(chat_server):
    h = await chat_server.login("harry", "hcp")
    f = await chat_server.login("fiona", "fmd")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["fiona"], title="g")
    await f.error("room.invite", "forbidden", room=room, user="harry")
    e = listed(await m.ok("room.list"), room)
    assert member_ids(e["members"]) == {"mia", "fiona"}, e
    await h.no_event("room.member", 0.3, room=room)
    await h.error("msg.send", "not_member", room=room, body="hi", client_msg_id="x1")


async def test_invite_by_fmd_of_msl_is_ok(chat_server):
    await chat_server.login("mark", "msl")
    f = await chat_server.login("fiona", "fmd")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["fiona"], title="g")
    await f.ok("room.invite", room=room, user="mark")
    e = listed(await m.ok("room.list"), room)
    assert member_ids(e["members"]) == {"mia", "fiona", "mark"}, e


async def test_invite_by_hcp_is_forbidden(chat_server):
    await chat_server.login("mark", "msl")
    h = await chat_server.login("harry", "hcp")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["harry"], title="g")
    await h.error("room.invite", "forbidden", room=room, user="mark")
    e = listed(await m.ok("room.list"), room)
    assert member_ids(e["members"]) == {"mia", "harry"}, e


async def test_leave_notifies_remaining_members_with_left(chat_server):
    h = await chat_server.login("harry", "hcp")
    k = await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["harry", "mark"], title="g")
    await k.ok("room.leave", room=room)
    for c in (h, m):
        ev = await c.next_event("room.member", room=room, user="mark", action="left")
        assert ev["action"] == "left"
    e = listed(await m.ok("room.list"), room)
    assert member_ids(e["members"]) == {"mia", "harry"}, e
    assert room not in listed_ids(await k.ok("room.list"))


async def test_after_leave_sending_is_not_member(chat_server):
    await chat_server.login("harry", "hcp")
    k = await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["harry", "mark"], title="g")
    await k.ok("room.leave", room=room)
    await k.error("msg.send", "not_member", room=room, body="still here?", client_msg_id="late-1")


# ---------------------------------------------------------------- membership and tenancy refusals


async def test_non_member_sending_is_not_member(chat_server):
    n = await chat_server.login("nora", "msl")
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["mark"], title="g")
    await n.error("msg.send", "not_member", room=room, body="let me in", client_msg_id="nm-1")
    assert n.is_open
    assert (await m.ok("room.history", room=room))["messages"] == []


async def test_non_member_history_is_not_member(chat_server):
    n = await chat_server.login("nora", "msl")
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["mark"], title="g")
    await send_msg(m, room, "private")
    await n.error("room.history", "not_member", room=room)


async def test_room_of_another_tenant_is_not_found(chat_server):
    x = await chat_server.login("xavier", "msl", tenant="t2")
    await chat_server.login("mark", "msl", tenant="t1")
    m = await chat_server.login("mia", "msl", tenant="t1")
    room = await create_room(m, "group", ["mark"], title="t1 only")
    await send_msg(m, room, "t1 secret")
    await x.error("msg.send", "not_found", room=room, body="hi", client_msg_id="xt-1")
    await x.error("room.history", "not_found", room=room)
    await x.error("room.invite", "not_found", room=room, user="xavier")
    assert room not in listed_ids(await x.ok("room.list"))


async def test_unknown_room_is_not_found(chat_server):
    m = await chat_server.login("mia", "msl")
    await m.error("msg.send", "not_found", room="no-such-room", body="hi", client_msg_id="u-1")
    await m.error("room.history", "not_found", room="no-such-room")


# ---------------------------------------------------------------- room.list


async def test_room_list_has_kind_title_members_last_seq_unread(chat_server):
    h = await chat_server.login("harry", "hcp")
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    g = await create_room(m, "group", ["harry"], title="Team")
    d = await create_room(m, "direct", ["mark"])
    for i in range(3):
        await send_msg(m, g, f"g{i}")
    r = await h.ok("room.list")
    assert d not in listed_ids(r), "a room harry is not in is listed to him"
    e = listed(r, g)
    for field in ("room", "kind", "title", "members", "last_seq", "unread"):
        assert field in e, f"room.list entry lacks {field}: {e}"
    assert e["kind"] == "group" and e["title"] == "Team", e
    assert member_ids(e["members"]) == {"mia", "harry"}, e
    assert e["last_seq"] == 3 and e["unread"] == 3, e
    await h.ok("msg.ack", room=g, seq=2)
    await h.ok("msg.read", room=g, seq=2)
    e = listed(await h.ok("room.list"), g)
    assert e["last_seq"] == 3 and e["unread"] == 1, e
    e = listed(await m.ok("room.list"), d)
    assert e["kind"] == "direct" and e["last_seq"] == 0 and e["unread"] == 0, e
    assert member_ids(e["members"]) == {"mia", "mark"}, e


async def test_concurrent_direct_room_creates_from_both_sides_return_one_room(chat_server):
    h = await chat_server.login("harry", "hcp")
    m = await chat_server.login("mia", "msl")
    rids = []
    for _ in range(5):
        rids.append((h, await h.send("room.create", kind="direct", members=["mia"])))
        rids.append((m, await m.send("room.create", kind="direct", members=["harry"])))
    rooms = set()
    for c, rid in rids:
        r = await c.reply(rid)
        assert r["type"] == "ok", r
        rooms.add(r["room"])
    assert len(rooms) == 1, f"one pair, several direct rooms: {rooms}"
    assert len([e for e in (await h.ok("room.list"))["rooms"] if e["kind"] == "direct"]) == 1


async def test_non_member_read_ack_typing_invite_are_not_member(chat_server):
    n = await chat_server.login("nora", "msl")
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["mark"], title="g")
    await send_msg(m, room, "one")
    await n.error("msg.read", "not_member", room=room, seq=1)
    await n.error("msg.ack", "not_member", room=room, seq=1)
    await n.error("typing", "not_member", room=room)
    await m.no_event("receipt", 0.2)
    await m.no_event("typing", 0.1)


async def test_fmd_reaches_hcp_in_a_room_an_msl_invited_both_to(chat_server):
    h = await chat_server.login("harry", "hcp")
    f = await chat_server.login("fiona", "fmd")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["harry", "fiona"], title="shared")
    r = await send_msg(f, room, "hello harry")
    ev = await h.next_event("msg", room=room, seq=r["seq"])
    assert ev["from"] == "fiona"


async def test_invite_of_unknown_or_other_tenant_user_is_not_found(chat_server):
    await chat_server.login("xavier", "msl", tenant="t2")
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    room = await create_room(m, "group", ["mark"], title="g")
    await m.error("room.invite", "not_found", room=room, user="nobody-at-all")
    await m.error("room.invite", "not_found", room=room, user="xavier")
    e = listed(await m.ok("room.list"), room)
    assert member_ids(e["members"]) == {"mia", "mark"}, e


async def test_room_create_with_bad_kind_or_members_is_bad_request(chat_server):
    await chat_server.login("mark", "msl")
    m = await chat_server.login("mia", "msl")
    await m.error("room.create", "bad_request", kind="banana", members=["mark"], malformed=True)
    await m.error("room.create", "bad_request", kind="group", malformed=True)
    await m.error("room.create", "bad_request", kind="group", members="mark", malformed=True)
    await m.error("room.create", "bad_request", members=["mark"], malformed=True)
    assert (await m.ok("room.list"))["rooms"] == []
