"""Calls — WebRTC signaling through the wire (protocol.md § Calls): ring on every device, first
answer wins, ICE/SDP relay, reject / hangup / cancel / timeout / busy / glare, grace on disconnect,
system messages in the room, TURN REST credentials, policy refusals.

The SDP and candidates here are opaque strings to the server; test_webrtc.py uses real ones."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time

from liaison_helpers import Client, Server

OFFER = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=offer\r\nt=0 0\r\n"
ANSWER = "v=0\r\no=bob 2 2 IN IP4 127.0.0.1\r\ns=answer\r\nt=0 0\r\n"
CALL_WAIT = 10.0  # bound for events that follow a server timer (ring timeout, grace)


def cand(n: int) -> dict:
    return {"candidate": f"candidate:{n} 1 udp 2122260223 127.0.0.1 {50000 + n} typ host",
            "sdpMid": "0", "sdpMLineIndex": 0}


async def make_room(c: Client, members: list[str], kind: str = "group") -> str:
    fields = {"kind": kind, "members": members}
    if kind == "group":
        fields["title"] = "calls"
    r = await c.ok("room.create", **fields)
    assert isinstance(r.get("room"), str) and r["room"], r
    return r["room"]


async def alice_and_bob(srv: Server, bob_devices=("phone", "laptop")):
    """alice (msl, one device "phone") and bob (msl, `bob_devices`) in a group room."""
    bobs = [await srv.login("bob", "msl", device=d, name="Bob") for d in bob_devices]
    alice = await srv.login("alice", "msl", device="phone", name="Alice")
    room = await make_room(alice, ["bob"])
    return alice, bobs, room


async def invite(c: Client, room: str, media: str = "audio", sdp: str = OFFER) -> str:
    r = await c.ok("call.invite", room=room, media=media, sdp=sdp)
    call = r.get("call")
    assert isinstance(call, str) and call, f"call.invite ok without a call id: {r}"
    return call


async def answered_call(alice: Client, bob: Client, room: str, others=(), media: str = "audio") -> str:
    """alice calls, `bob` accepts (every device in `others` rings and is answered elsewhere)."""
    call = await invite(alice, room, media)
    for d in (bob, *others):
        await d.next_event("call.ring", call=call)
    await bob.ok("call.accept", call=call, sdp=ANSWER)
    await alice.next_event("call.accepted", call=call)
    for d in others:
        await d.next_event("call.ended", call=call, reason="answered_elsewhere")
    return call


async def system_messages(c: Client, room: str, count: int, timeout: float = 5.0) -> list[dict]:
    """The room's `system` messages (history), once there are at least `count` (bounded wait:
    the call's record is written after the call ends)."""
    deadline = time.monotonic() + timeout
    while True:
        r = await c.ok("room.history", room=room, limit=100)
        msgs = [m for m in r["messages"] if m.get("kind") == "system"]
        if len(msgs) >= count or time.monotonic() > deadline:
            assert len(msgs) >= count, f"expected {count} system message(s) in {room}, history: {r['messages']}"
            return msgs
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- invite and ring


async def test_invite_rings_every_device_of_the_callee_with_the_offer_and_the_callers_device(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    alice_tablet = await server.login("alice", "msl", device="tablet", name="Alice")
    call = await invite(alice, room, "video")
    for d in (phone, laptop):
        ev = await d.next_event("call.ring", call=call)
        assert ev == {"type": "call.ring", "call": call, "room": room,
                      "from": {"user": "alice", "name": "Alice", "device": "phone"},
                      "media": "video", "sdp": OFFER}, ev
    await alice_tablet.no_event("call.ring", 0.3)
    await alice.no_event("call.ring", 0.0)


async def test_a_device_connecting_while_the_call_rings_gets_the_ring_and_the_callers_candidates(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    call = await invite(alice, room)
    await phone.next_event("call.ring", call=call)
    await alice.ok("call.candidate", call=call, candidate=cand(1))
    await alice.ok("call.candidate", call=call, candidate=cand(2))
    laptop = await server.login("bob", "msl", device="laptop", name="Bob")
    ring = await laptop.next_event("call.ring", call=call)
    assert ring["sdp"] == OFFER and ring["from"]["device"] == "phone", ring
    got = [(await laptop.next_event("call.candidate", call=call))["candidate"] for _ in range(2)]
    assert got == [cand(1), cand(2)], got


# ---------------------------------------------------------------- first answer wins


async def test_accept_race_between_two_devices_has_exactly_one_winner_10_rounds(server):
    """Both ringing devices send call.accept at the same moment, 10 calls in a row: exactly one
    ok, exactly one already_answered, and the caller gets exactly one call.accepted."""
    alice, (phone, laptop), room = await alice_and_bob(server)
    names = {phone: "phone", laptop: "laptop"}
    winners = []
    for round_ in range(10):
        call = await invite(alice, room)
        for d in (phone, laptop):
            await d.next_event("call.ring", call=call)
        answers = {d: f"{ANSWER}a={names[d]}:{round_}\r\n" for d in (phone, laptop)}
        rids = {d: d.new_id() for d in (phone, laptop)}
        frames = {d: json.dumps({"type": "call.accept", "id": rids[d], "call": call, "sdp": answers[d]})
                  for d in (phone, laptop)}
        # both frames are ready: put them on the two sockets together (each round in the other order)
        order = (phone, laptop) if round_ % 2 == 0 else (laptop, phone)
        await asyncio.gather(*(d.send_raw(frames[d]) for d in order))
        replies = {d: await d.reply(rid) for d, rid in rids.items()}
        oks = [d for d, r in replies.items() if r["type"] == "ok"]
        refused = [d for d, r in replies.items() if r.get("type") == "error" and r.get("code") == "already_answered"]
        summary = {names[d]: r for d, r in replies.items()}
        assert len(oks) == 1 and len(refused) == 1, f"round {round_}: {summary}"
        winner, loser = oks[0], refused[0]
        acc = await alice.next_event("call.accepted", call=call)
        assert acc == {"type": "call.accepted", "call": call, "by": {"user": "bob", "name": "Bob", "device": names[winner]},
                       "sdp": answers[winner]}, acc
        await loser.next_event("call.ended", call=call, reason="answered_elsewhere")
        await winner.no_event("call.ended", 0.0, call=call)
        # a later accept from either device is refused too
        for d in (phone, laptop):
            await d.error("call.accept", "already_answered", call=call, sdp=ANSWER)
        await alice.ok("call.hangup", call=call)
        await winner.next_event("call.ended", call=call, reason="hangup")
        # the caller was told of exactly one answer; the loser's ring ended exactly once
        await alice.no_event("call.accepted", 0.0, call=call)
        await loser.no_event("call.ended", 0.0, call=call)
        assert all(len(d.replies[rids[d]]) == 1 for d in (phone, laptop)), f"round {round_}: more than one reply"
        winners.append(names[winner])
    await alice.no_event("call.ended", 0.2)
    await alice.no_event("call.accepted", 0.0)
    print(f"accept race winners: {winners}")


async def test_a_second_members_late_accept_in_a_group_call_is_already_answered(server):
    """protocol.md: "later accepts get error already_answered" — also from another member."""
    bob = await server.login("bob", "msl", name="Bob")
    carol = await server.login("carol", "msl", name="Carol")
    alice = await server.login("alice", "msl", device="phone", name="Alice")
    room = await make_room(alice, ["bob", "carol"])
    call = await invite(alice, room)
    for d in (bob, carol):
        await d.next_event("call.ring", call=call)
    await bob.ok("call.accept", call=call, sdp=ANSWER)
    await carol.next_event("call.ended", call=call, reason="answered_elsewhere")
    await carol.error("call.accept", "already_answered", call=call, sdp=ANSWER)


async def test_the_caller_cannot_answer_their_own_call(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    alice_tablet = await server.login("alice", "msl", device="tablet", name="Alice")
    call = await invite(alice, room)
    await alice_tablet.error("call.accept", "forbidden", call=call, sdp=ANSWER)
    await alice.error("call.accept", "forbidden", call=call, sdp=ANSWER)


# ---------------------------------------------------------------- relaying


async def test_candidates_go_to_every_ringing_device_before_the_answer_and_only_between_the_two_after(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    call = await invite(alice, room)
    for d in (phone, laptop):
        await d.next_event("call.ring", call=call)

    # before the answer: the caller's to every ringing device, a ringing device's to the caller
    await alice.ok("call.candidate", call=call, candidate=cand(1))
    for d in (phone, laptop):
        ev = await d.next_event("call.candidate", call=call)
        assert ev == {"type": "call.candidate", "call": call, "candidate": cand(1)}, ev
    await laptop.ok("call.candidate", call=call, candidate=cand(2))
    ev = await alice.next_event("call.candidate", call=call)
    assert ev["candidate"] == cand(2), ev
    await phone.no_event("call.candidate", 0.2)

    # after it: only between alice and the answering phone
    await phone.ok("call.accept", call=call, sdp=ANSWER)
    await alice.next_event("call.accepted", call=call)
    await laptop.next_event("call.ended", call=call, reason="answered_elsewhere")
    await alice.ok("call.candidate", call=call, candidate=cand(3))
    ev = await phone.next_event("call.candidate", call=call)
    assert ev["candidate"] == cand(3), ev
    await phone.ok("call.candidate", call=call, candidate=cand(4))
    ev = await alice.next_event("call.candidate", call=call)
    assert ev["candidate"] == cand(4), ev
    await laptop.error("call.candidate", "not_member", call=call, candidate=cand(5))
    await laptop.no_event("call.candidate", 0.2)
    await alice.no_event("call.candidate", 0.0)


async def test_call_sdp_relays_renegotiation_between_the_two_devices(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    call = await invite(alice, room, "video")
    await phone.next_event("call.ring", call=call)
    await laptop.next_event("call.ring", call=call)
    # nothing to renegotiate before the answer
    await alice.error("call.sdp", "bad_request", call=call, description={"type": "offer", "sdp": OFFER})
    await phone.ok("call.accept", call=call, sdp=ANSWER)
    await alice.next_event("call.accepted", call=call)

    offer2 = OFFER + "a=screen-share\r\n"
    await alice.ok("call.sdp", call=call, description={"type": "offer", "sdp": offer2})
    ev = await phone.next_event("call.sdp", call=call)
    assert ev == {"type": "call.sdp", "call": call, "description": {"type": "offer", "sdp": offer2}}, ev
    answer2 = ANSWER + "a=screen-share\r\n"
    await phone.ok("call.sdp", call=call, description={"type": "answer", "sdp": answer2})
    ev = await alice.next_event("call.sdp", call=call)
    assert ev == {"type": "call.sdp", "call": call, "description": {"type": "answer", "sdp": answer2}}, ev
    # the device answered elsewhere is out of it
    await laptop.error("call.sdp", "bad_request", call=call, description={"type": "offer", "sdp": OFFER})
    await laptop.no_event("call.sdp", 0.2)
    await alice.error("call.sdp", "bad_request", call=call, description={"type": "pranswer", "sdp": OFFER},
                      malformed=True)


# ---------------------------------------------------------------- endings


async def test_ring_timeout_ends_the_call_for_both_sides_and_leaves_a_missed_call(server_factory):
    srv = server_factory(ring_timeout=1)
    alice, (phone, laptop), room = await alice_and_bob(srv)
    call = await invite(alice, room)
    for d in (phone, laptop):
        await d.next_event("call.ring", call=call)
    for d in (alice, phone, laptop):
        ev = await d.next_event("call.ended", CALL_WAIT, call=call)
        assert ev == {"type": "call.ended", "call": call, "reason": "timeout"}, ev
    await phone.error("call.accept", "not_found", call=call, sdp=ANSWER)
    msgs = await system_messages(alice, room, 1)
    assert msgs[-1]["body"] == "Missed audio call from Alice", msgs


async def test_callee_already_in_a_call_makes_the_new_call_end_busy(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    await answered_call(alice, phone, room)
    carol = await server.login("carol", "msl", device="phone", name="Carol")
    room2 = await make_room(carol, ["bob"])
    call2 = await invite(carol, room2, "video")
    ev = await carol.next_event("call.ended", call=call2)
    assert ev == {"type": "call.ended", "call": call2, "reason": "busy"}, ev
    await phone.no_event("call.ring", 0.2, call=call2)
    msgs = await system_messages(carol, room2, 1)
    assert msgs[-1]["body"] == "Missed video call from Carol (busy)", msgs
    # the room is free again: no glare with the busy call
    await alice.no_event("call.ended", 0.0)


async def test_glare_a_second_invite_in_the_room_is_busy_with_the_existing_call_id(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    call = await invite(alice, room)
    await phone.next_event("call.ring", call=call)
    err = await phone.error("call.invite", "busy", room=room, media="audio", sdp=OFFER)
    assert err.get("call") == call, f"glare error must name the existing call: {err}"
    # the client accepts that ring instead
    await phone.ok("call.accept", call=call, sdp=ANSWER)
    await alice.next_event("call.accepted", call=call)
    err = await alice.error("call.invite", "busy", room=room, media="video", sdp=OFFER)
    assert err.get("call") == call, err
    await phone.ok("call.hangup", call=call)
    await alice.next_event("call.ended", call=call, reason="hangup")
    # once it ended, the room takes a new call
    call2 = await invite(phone, room)
    assert call2 != call
    await alice.next_event("call.ring", call=call2)


async def test_hangup_before_the_answer_is_cancelled_for_every_ringing_device(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    call = await invite(alice, room, "video")
    for d in (phone, laptop):
        await d.next_event("call.ring", call=call)
    await alice.ok("call.hangup", call=call)
    for d in (phone, laptop):
        ev = await d.next_event("call.ended", call=call)
        assert ev == {"type": "call.ended", "call": call, "reason": "cancelled"}, ev
    await alice.no_event("call.ended", 0.2, call=call)
    await phone.error("call.accept", "not_found", call=call, sdp=ANSWER)
    msgs = await system_messages(alice, room, 1)
    assert msgs[-1]["body"] == "Missed video call from Alice", msgs


async def test_hangup_after_the_answer_by_the_callee_reaches_the_caller(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    call = await answered_call(alice, phone, room, others=(laptop,), media="video")
    await phone.ok("call.hangup", call=call)
    ev = await alice.next_event("call.ended", call=call)
    assert ev == {"type": "call.ended", "call": call, "reason": "hangup"}, ev
    await laptop.no_event("call.ended", 0.2, reason="hangup")
    await phone.no_event("call.ended", 0.0, call=call)
    msgs = await system_messages(alice, room, 1)
    assert re.fullmatch(r"Video call from Alice to Bob ended after \d+s", msgs[-1]["body"]), msgs


async def test_hangup_after_the_answer_by_the_caller_reaches_the_callee(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    call = await answered_call(alice, phone, room)
    await alice.ok("call.hangup", call=call)
    ev = await phone.next_event("call.ended", call=call)
    assert ev["reason"] == "hangup", ev
    await alice.error("call.hangup", "not_found", call=call)
    msgs = await system_messages(phone, room, 1)
    assert re.fullmatch(r"Audio call from Alice to Bob ended after \d+s", msgs[-1]["body"]), msgs


async def test_reject_by_one_device_ends_the_ringing_for_the_caller_and_the_other_device(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    call = await invite(alice, room)
    for d in (phone, laptop):
        await d.next_event("call.ring", call=call)
    await laptop.ok("call.reject", call=call)
    for d in (alice, phone):
        ev = await d.next_event("call.ended", call=call)
        assert ev == {"type": "call.ended", "call": call, "reason": "rejected"}, ev
    await laptop.no_event("call.ended", 0.2, call=call)
    await phone.error("call.accept", "not_found", call=call, sdp=ANSWER)
    msgs = await system_messages(alice, room, 1)
    assert msgs[-1]["body"] == "Audio call from Alice was declined", msgs


async def test_reject_by_the_caller_or_after_the_answer_is_refused(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    call = await invite(alice, room)
    for d in (phone, laptop):
        await d.next_event("call.ring", call=call)
    await alice.error("call.reject", "bad_request", call=call)
    await phone.ok("call.accept", call=call, sdp=ANSWER)
    await phone.error("call.reject", "bad_request", call=call)
    await alice.no_event("call.ended", 0.2, call=call)


async def test_every_call_leaves_a_system_message_that_reaches_an_offline_member(server):
    """A group room with carol offline: each call's record is in the history, and carol gets them
    replayed before `synced` when she connects."""
    carol = await server.login("carol", "msl", name="Carol")
    await carol.close()
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    await alice.ok("room.invite", room=room, user="carol")

    call1 = await invite(alice, room)                         # cancelled → missed
    await phone.next_event("call.ring", call=call1)
    await alice.ok("call.hangup", call=call1)
    await phone.next_event("call.ended", call=call1, reason="cancelled")
    await system_messages(alice, room, 1)
    call2 = await answered_call(alice, phone, room, media="video")  # answered → duration
    await alice.ok("call.hangup", call=call2)
    await phone.next_event("call.ended", call=call2, reason="hangup")
    msgs = await system_messages(alice, room, 2)
    bodies = [m["body"] for m in msgs]
    assert bodies[0] == "Missed audio call from Alice", bodies
    assert re.fullmatch(r"Video call from Alice to Bob ended after \d+s", bodies[1]), bodies
    assert all(m["from"] == "alice" for m in msgs), msgs

    # the live `msg` events: both records are durable, so they are in carol's offline replay
    for seq in (1, 2):
        await alice.next_event("msg", room=room, seq=seq, kind="system")
    carol = await server.login("carol", "msl", name="Carol")
    synced_at = next(i for i, f in enumerate(carol.frames) if isinstance(f, dict) and f.get("type") == "synced")
    replayed = [f for f in carol.frames[:synced_at]
                if isinstance(f, dict) and f.get("type") == "msg" and f.get("kind") == "system"]
    assert [m["body"] for m in replayed] == bodies, carol.frames[:synced_at]


# ---------------------------------------------------------------- TURN


async def test_turn_credentials_match_an_independent_hmac_sha1(server_factory):
    secret = "turn-shared-secret-\u00e9"
    urls = ["turn:127.0.0.1:3478?transport=udp", "turns:127.0.0.1:5349?transport=tcp"]
    srv = server_factory(turn_urls=",".join(urls), turn_secret=secret, turn_ttl=600)
    alice = await srv.login("alice", "msl", name="Alice")
    before = int(time.time())
    r = await alice.ok("turn.credentials")
    after = int(time.time())
    assert r["urls"] == urls, r
    assert r["ttl"] == 600, r
    expiry, user = r["username"].split(":", 1)
    assert user == "alice", r
    assert before + 600 - 1 <= int(expiry) <= after + 600 + 1, (before, r, after)
    want = base64.b64encode(hmac.new(secret.encode(), r["username"].encode(), hashlib.sha1).digest()).decode()
    assert r["credential"] == want, r


async def test_turn_ttl_defaults_to_a_day(server_factory):
    srv = server_factory(turn_urls="turn:127.0.0.1:3478", turn_secret="s3cret")
    hcp = await srv.login("hana", "hcp", name="Hana")
    before = int(time.time())
    r = await hcp.ok("turn.credentials")
    assert r["ttl"] == 86400, r
    expiry, user = r["username"].split(":", 1)
    assert user == "hana" and int(expiry) >= before + 86400 - 1, r
    want = base64.b64encode(hmac.new(b"s3cret", r["username"].encode(), hashlib.sha1).digest()).decode()
    assert r["credential"] == want, r


async def test_turn_credentials_without_a_secret_are_not_found(server):
    alice = await server.login("alice", "msl")
    await alice.error("turn.credentials", "not_found")


# ---------------------------------------------------------------- policy


async def test_a_non_member_cannot_invite_accept_or_relay(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    carol = await server.login("carol", "msl", name="Carol")
    await carol.error("call.invite", "not_member", room=room, media="audio", sdp=OFFER)
    call = await invite(alice, room)
    await phone.next_event("call.ring", call=call)
    await carol.no_event("call.ring", 0.2)
    await carol.error("call.accept", "not_member", call=call, sdp=ANSWER)
    await carol.error("call.candidate", "not_member", call=call, candidate=cand(1))
    await carol.error("call.hangup", "not_member", call=call)
    # the call is untouched
    await phone.ok("call.accept", call=call, sdp=ANSWER)
    await alice.next_event("call.accepted", call=call)


async def test_another_tenants_room_and_call_are_not_found(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    eve = await server.login("alice", "msl", tenant="t2", name="Eve")  # same id, other tenant
    await eve.error("call.invite", "not_found", room=room, media="audio", sdp=OFFER)
    call = await invite(alice, room)
    await phone.next_event("call.ring", call=call)
    await eve.no_event("call.ring", 0.2)
    await eve.error("call.accept", "not_found", call=call, sdp=ANSWER)
    await eve.error("call.candidate", "not_found", call=call, candidate=cand(1))
    await eve.error("call.sdp", "not_found", call=call, description={"type": "offer", "sdp": OFFER})
    await eve.error("call.reject", "not_found", call=call)
    await eve.error("call.hangup", "not_found", call=call)
    await alice.no_event("call.ended", 0.0)


async def test_an_admin_cannot_invite(server):
    alice, _, room = await alice_and_bob(server, ("phone",))
    admin = await server.login("root", "admin", name="Root")
    await admin.error("call.invite", "forbidden", room=room, media="audio", sdp=OFFER)


async def test_an_hcp_calls_in_a_room_they_share_and_not_in_one_they_do_not(server):
    hana = await server.login("hana", "hcp", name="Hana")
    mia = await server.login("mia", "msl", name="Mia")
    bob = await server.login("bob", "msl", name="Bob")
    shared = await make_room(mia, ["hana"], kind="direct")
    other = await make_room(mia, ["bob"], kind="direct")
    await hana.error("call.invite", "not_member", room=other, media="audio", sdp=OFFER)
    call = await invite(hana, shared, "video")
    ring = await mia.next_event("call.ring", call=call)
    assert ring["from"] == {"user": "hana", "name": "Hana", "device": "dev1"}, ring
    await bob.no_event("call.ring", 0.2)


async def test_malformed_call_requests_are_bad_request(server):
    alice, (phone,), room = await alice_and_bob(server, ("phone",))
    await alice.error("call.invite", "bad_request", room=room, media="hologram", sdp=OFFER, malformed=True)
    await alice.error("call.invite", "bad_request", room=room, media="audio", malformed=True)
    await alice.error("call.accept", "bad_request", call="c1", malformed=True)
    await alice.error("call.candidate", "bad_request", call="c1", candidate="not an object", malformed=True)
    await phone.no_event("call.ring", 0.2)
    await alice.error("call.accept", "not_found", call="nonexistent", sdp=ANSWER)


# ---------------------------------------------------------------- disconnect and grace


async def wait_offline(watcher: Client, user: str) -> None:
    """Bounded wait for `user` to be reported offline to `watcher` (the server has seen the
    disconnect: presence is told before calls are, on the same session teardown)."""
    await watcher.next_event("presence", CALL_WAIT, user=user, status="offline")


async def test_a_device_reconnecting_within_the_grace_keeps_the_call(server_factory):
    srv = server_factory(call_grace=10)
    alice, (phone,), room = await alice_and_bob(srv, ("phone",))
    await alice.ok("presence.watch", users=["bob"])
    call = await answered_call(alice, phone, room)
    await phone.close()
    await wait_offline(alice, "bob")
    phone2 = await srv.login("bob", "msl", device="phone", name="Bob")
    # relaying reaches the device on its new connection, both ways
    await alice.ok("call.candidate", call=call, candidate=cand(7))
    ev = await phone2.next_event("call.candidate", call=call)
    assert ev["candidate"] == cand(7), ev
    await phone2.ok("call.candidate", call=call, candidate=cand(8))
    assert (await alice.next_event("call.candidate", call=call))["candidate"] == cand(8)
    # and so does its hangup
    await phone2.ok("call.hangup", call=call)
    ev = await alice.next_event("call.ended", call=call)
    assert ev["reason"] == "hangup", ev
    await alice.no_event("call.ended", 0.2, reason="disconnected")


async def test_the_caller_reconnecting_within_the_grace_keeps_the_call(server_factory):
    srv = server_factory(call_grace=10)
    alice, (phone,), room = await alice_and_bob(srv, ("phone",))
    await phone.ok("presence.watch", users=["alice"])
    call = await answered_call(alice, phone, room)
    await alice.close()
    await wait_offline(phone, "alice")
    alice2 = await srv.login("alice", "msl", device="phone", name="Alice")
    await alice2.ok("call.sdp", call=call, description={"type": "offer", "sdp": OFFER})
    await phone.next_event("call.sdp", call=call)
    await alice2.ok("call.hangup", call=call)
    assert (await phone.next_event("call.ended", call=call))["reason"] == "hangup"


async def test_a_device_replaced_by_a_new_connection_keeps_the_call(server_factory):
    """A phone switching networks: its new connection (same device) replaces the stale one (4409)
    before the server noticed the old one was gone. The call must follow the device."""
    srv = server_factory(call_grace=3)
    alice, (phone,), room = await alice_and_bob(srv, ("phone",))
    call = await answered_call(alice, phone, room)
    phone2 = await srv.login("bob", "msl", device="phone", name="Bob")
    assert await phone.wait_closed() == 4409
    await alice.ok("call.candidate", call=call, candidate=cand(9))
    ev = await phone2.next_event("call.candidate", call=call)
    assert ev["candidate"] == cand(9), ev
    # still in the call after the grace period of the replaced connection
    await alice.no_event("call.ended", 5.0, call=call)
    await phone2.ok("call.hangup", call=call)
    assert (await alice.next_event("call.ended", call=call))["reason"] == "hangup"


async def test_a_device_gone_beyond_the_grace_ends_the_call_disconnected(server_factory):
    srv = server_factory(call_grace=1)
    alice, (phone, laptop), room = await alice_and_bob(srv)
    call = await answered_call(alice, phone, room, others=(laptop,))
    await phone.close()
    ev = await alice.next_event("call.ended", CALL_WAIT, call=call)
    assert ev == {"type": "call.ended", "call": call, "reason": "disconnected"}, ev
    await laptop.no_event("call.ended", 0.2, reason="disconnected")
    msgs = await system_messages(alice, room, 1)
    assert re.fullmatch(r"Audio call from Alice to Bob ended after \d+s", msgs[-1]["body"]), msgs
    # the room and both users are free again
    call2 = await invite(alice, room)
    await laptop.next_event("call.ring", call=call2)


async def test_a_ringing_device_disconnecting_just_stops_ringing(server):
    alice, (phone, laptop), room = await alice_and_bob(server)
    call = await invite(alice, room)
    for d in (phone, laptop):
        await d.next_event("call.ring", call=call)
    await laptop.close()
    await alice.no_event("call.ended", 0.3, call=call)
    await phone.ok("call.accept", call=call, sdp=ANSWER)
    acc = await alice.next_event("call.accepted", call=call)
    assert acc["by"] == {"user": "bob", "name": "Bob", "device": "phone"}, acc


async def test_both_parties_gone_and_one_back_the_other_still_times_out(server_factory):
    """alice and bob both drop; bob comes back within his grace, alice never does: alice's grace
    must still end the call for bob (`disconnected`), and free the room."""
    srv = server_factory(call_grace=3)
    alice, (phone,), room = await alice_and_bob(srv, ("phone",))
    watcher = await srv.login("walt", "msl", name="Walt")
    await watcher.ok("presence.watch", users=["alice", "bob"])
    call = await answered_call(alice, phone, room)
    await alice.close()
    await wait_offline(watcher, "alice")
    await phone.close()
    await wait_offline(watcher, "bob")
    phone2 = await srv.login("bob", "msl", device="phone", name="Bob")
    ev = await phone2.next_event("call.ended", CALL_WAIT, call=call)
    assert ev["reason"] == "disconnected", ev
    call2 = await invite(phone2, room)
    assert call2 != call
