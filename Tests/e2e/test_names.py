"""Names next to ids: every event and list that names a user carries their display name, so
clients never have to show bare ids."""

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def pair(server):
    mika = await server.login("mika", "msl", name="Mika Laine")
    hana = await server.login("hana", "fmd", name="Dr Hana Ito", areas=["oncology"])
    room = (await mika.ok("room.create", kind="group", members=["hana"], title="names"))["room"]
    joined = await hana.next_event("room.member", room=room)
    assert joined["user"] == "hana" and joined["name"] == "Dr Hana Ito", joined
    return mika, hana, room


async def test_msg_carries_the_senders_name(server):
    mika, hana, room = await pair(server)
    await mika.ok("msg.send", room=room, body="hello")
    msg = await hana.next_event("msg", room=room)
    assert msg["from"] == "mika" and msg["from_name"] == "Mika Laine", msg
    history = (await hana.ok("room.history", room=room))["messages"]
    assert history[-1]["from_name"] == "Mika Laine"


async def test_receipt_typing_and_presence_carry_names(server):
    mika, hana, room = await pair(server)
    await mika.ok("msg.send", room=room, body="hello")
    seq = (await hana.next_event("msg", room=room))["seq"]
    await hana.ok("msg.read", room=room, seq=seq)
    receipt = await mika.next_event("receipt", room=room)
    assert receipt["name"] == "Dr Hana Ito", receipt
    await hana.ok("typing", room=room)
    typing = await mika.next_event("typing", room=room)
    assert typing["name"] == "Dr Hana Ito", typing
    watched = (await mika.ok("presence.watch", users=["hana"]))["presence"]
    assert watched[0]["name"] == "Dr Hana Ito", watched
    await hana.ok("presence.set", status="busy")
    presence = await mika.next_event("presence", user="hana", status="busy")
    assert presence["name"] == "Dr Hana Ito", presence


async def test_room_list_names_every_member(server):
    mika, hana, room = await pair(server)
    listed = next(r for r in (await mika.ok("room.list"))["rooms"] if r["room"] == room)
    assert listed["member_names"] == {"mika": "Mika Laine", "hana": "Dr Hana Ito"}, listed


async def test_call_accepted_names_who_answered(server):
    mika, hana, room = await pair(server)
    call = (await mika.ok("call.invite", room=room, media="audio", sdp=SDP))["call"]
    ring = await hana.next_event("call.ring", call=call)
    assert ring["from"]["name"] == "Mika Laine", ring
    await hana.ok("call.accept", call=call, sdp=SDP)
    accepted = await mika.next_event("call.accepted", call=call)
    assert accepted["by"]["name"] == "Dr Hana Ito", accepted
