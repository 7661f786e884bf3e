"""MOD — Medical On-Demand, through the wire (protocol.md § MOD; issue 4).

Broadcast of a request to every available FMD of its area and tenant, exactly one claim
winning however many arrive at once, the `mod` room holding the question, late joiners,
dnd, decline, cancel, expiry, policy, and open requests surviving a restart.

No timing assertions: every wait is bounded, and "nothing arrives" checks use short windows
only after the positive events of the same broadcast have arrived.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from liaison_helpers import Client, Server

AREA_A = "cardiology"
AREA_B = "oncology"
QUIET = 0.5  # window of the "nothing more arrives" checks (after the positive events arrived)


# --------------------------------------------------------------------------- helpers


async def login_many(srv: Server, specs: list[dict], batch: int = 50) -> list[Client]:
    """Log in many users (dicts of Server.login kwargs) concurrently, `batch` at a time."""
    out: list[Client] = []
    for i in range(0, len(specs), batch):
        out += await asyncio.gather(*(srv.login(**s) for s in specs[i : i + batch]))
    return out


async def fmd(srv: Server, sub: str, areas=(AREA_A,), tenant: str = "t1", device: str = "dev1") -> Client:
    return await srv.login(sub, "fmd", tenant, device=device, areas=list(areas))


async def mod_request(c: Client, area: str = AREA_A, question: str = "What is the max dose?", mode: str = "chat",
                      ttl_s: float | None = None) -> tuple[str, int]:
    fields = {"area": area, "question": question, "mode": mode}
    if ttl_s is not None:
        fields["ttl_s"] = ttl_s
    r = await c.ok("mod.request", **fields)
    req, offered = r.get("request"), r.get("offered")
    assert isinstance(req, str) and req, f"mod.request ok without a request id: {r}"
    assert isinstance(offered, int), f"mod.request ok without an integer 'offered': {r}"
    return req, offered


async def claim_all(clients: list[Client], req: str, timeout: float = 20.0) -> list[dict]:
    """Every client sends `mod.claim` at (as near as one event loop gets to) the same moment:
    all frames go out before any reply is awaited. Returns the replies in client order."""
    rids = await asyncio.gather(*(c.send("mod.claim", request=req) for c in clients))
    return list(await asyncio.gather(*(c.reply(rid, timeout) for c, rid in zip(clients, rids))))


def frames_before_synced(c: Client) -> list[dict]:
    idx = next(i for i, f in enumerate(c.frames) if isinstance(f, dict) and f.get("type") == "synced")
    return [f for f in c.frames[:idx] if isinstance(f, dict)]


async def connect_until_synced(srv: Server, sub: str, role: str = "fmd", tenant: str = "t1", device: str = "dev1",
                               areas=(AREA_A,)) -> tuple[Client, list[dict]]:
    """Hello and wait for `synced`; return the client and the frames before `synced`."""
    c = await srv.connect(label=f"{tenant}/{sub}/{device}")
    r = await c.request("hello", 10, token=srv.token(sub, role, tenant, areas=list(areas)), device=device,
                        client="liaison-e2e/1")
    assert r.get("type") == "ok", f"hello expected ok, got {r}"
    await c.next_event("synced", 10)
    return c, frames_before_synced(c)


def offers_of(frames: list[dict], req: str | None = None) -> list[dict]:
    return [f for f in frames if f.get("type") == "mod.offer" and (req is None or f.get("request") == req)]


def check_offer(ev: dict, req: str, question: str, requester: str, role: str = "hcp", area: str = AREA_A,
                mode: str = "chat") -> None:
    assert ev.get("request") == req, ev
    assert ev.get("area") == area, ev
    assert ev.get("question") == question, ev
    assert ev.get("mode") == mode, ev
    frm = ev.get("from")
    assert isinstance(frm, dict) and frm.get("user") == requester and frm.get("role") == role, ev
    assert isinstance(frm.get("name"), str), ev
    assert isinstance(ev.get("expires_at"), int), ev


async def history(c: Client, room: str) -> list[dict]:
    r = await c.ok("room.history", room=room, limit=100)
    msgs = r.get("messages")
    assert isinstance(msgs, list), f"room.history without messages: {r}"
    return msgs


async def check_room_holds_question(c: Client, room: str, question: str, requester: str) -> None:
    msgs = await history(c, room)
    assert msgs, f"mod room {room} has no messages"
    first = msgs[0]
    assert first.get("seq") == 1, first
    assert first.get("body") == question, first
    assert first.get("from") == requester, first
    assert first.get("kind") == "text", first


async def gather_events(clients: list[Client], type_: str, timeout: float = 10.0, **match) -> list[dict]:
    return list(await asyncio.gather(*(c.next_event(type_, timeout, **match) for c in clients)))


# --------------------------------------------------------------------------- broadcast and the race


async def test_request_reaches_exactly_the_area_and_200_way_claim_race_has_one_winner_20_rounds(server_factory):
    srv = server_factory(rate_limit=100000)
    hcp = await srv.login("hana", "hcp", name="Hana")
    area_a = await login_many(srv, [dict(sub=f"fa{i:03d}", role="fmd", areas=[AREA_A]) for i in range(200)])
    area_b = await login_many(srv, [dict(sub=f"fb{i:02d}", role="fmd", areas=[AREA_B]) for i in range(20)])
    subs = {id(c): c.label.split("/")[1] for c in area_a}
    winners: Counter[str] = Counter()

    for rnd in range(20):
        question = f"Round {rnd}: dosing of drug X in CKD stage 4?"
        req, offered = await mod_request(hcp, AREA_A, question)
        assert offered == 200, f"round {rnd}: offered {offered}, expected 200"

        offers = await gather_events(area_a, "mod.offer", request=req)
        for ev in offers:
            check_offer(ev, req, question, "hana")
        # The offer frames went out together; none of them reached area B.
        for c in area_b:
            assert not c.pending("mod.offer"), f"round {rnd}: area-B FMD {c.label} got {c.pending('mod.offer')}"

        replies = await claim_all(area_a, req)
        oks = [(c, r) for c, r in zip(area_a, replies) if r.get("type") == "ok"]
        codes = Counter(r.get("code") for r in replies if r.get("type") == "error")
        assert len(oks) == 1, f"round {rnd}: {len(oks)} winners: {[r for _, r in oks]}"
        assert codes == Counter({"already_claimed": 199}), f"round {rnd}: losers' errors {codes}"
        winner, won = oks[0]
        room = won.get("room")
        assert won.get("request") == req and isinstance(room, str) and room, won
        winner_sub = subs[id(winner)]
        winners[winner_sub] += 1

        claimed = await hcp.next_event("mod.claimed", 10, request=req)
        assert claimed.get("room") == room, claimed
        assert claimed.get("mode") == "chat", claimed
        assert (claimed.get("by") or {}).get("user") == winner_sub, claimed

        losers = [c for c in area_a if c is not winner]
        await gather_events(losers, "mod.taken", request=req)
        assert not winner.pending("mod.taken", request=req), f"round {rnd}: the winner got mod.taken"

        await check_room_holds_question(hcp, room, question, "hana")
        await check_room_holds_question(winner, room, question, "hana")

    assert sum(winners.values()) == 20
    # Area B never heard of any of it.
    await asyncio.sleep(QUIET)
    for c in area_b:
        assert not c.pending("mod.offer") and not c.pending("mod.taken"), c.label
    # Each claim produced a distinct mod room holding requester and claimer.
    rooms = (await hcp.ok("room.list")).get("rooms")
    mod_rooms = [r for r in rooms if r.get("kind") == "mod"]
    assert len(mod_rooms) == 20, f"expected 20 mod rooms, got {rooms}"


async def test_claim_from_two_devices_of_one_fmd_wins_once_and_the_other_device_gets_taken(server_factory):
    srv = server_factory(rate_limit=100000)
    hcp = await srv.login("hana", "hcp")
    d1 = await fmd(srv, "fred", device="phone")
    d2 = await fmd(srv, "fred", device="laptop")
    req, offered = await mod_request(hcp)
    assert offered == 1
    await d1.next_event("mod.offer", request=req)
    await d2.next_event("mod.offer", request=req)
    replies = await claim_all([d1, d2], req)
    types = sorted(r.get("type") for r in replies)
    assert types == ["error", "ok"], replies
    err = next(r for r in replies if r.get("type") == "error")
    assert err.get("code") == "already_claimed", err
    loser = d2 if replies[0].get("type") == "ok" else d1
    await loser.next_event("mod.taken", request=req)
    await hcp.next_event("mod.claimed", request=req)


# --------------------------------------------------------------------------- late join, dnd


async def test_late_joining_fmd_gets_the_open_offer_before_synced(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    question = "Interaction of A and B?"
    req, offered = await mod_request(hcp, question=question)
    assert offered == 0
    c, before = await connect_until_synced(srv, "late")
    got = offers_of(before, req)
    assert len(got) == 1, f"late FMD: offers before synced {before}"
    check_offer(got[0], req, question, "hana")
    # It is a real offer: the late joiner can claim it.
    r = await c.ok("mod.claim", request=req)
    assert r.get("request") == req and r.get("room")
    await check_room_holds_question(c, r["room"], question, "hana")


async def test_late_joiner_outside_the_area_gets_no_offer(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    req, _ = await mod_request(hcp)
    _, before = await connect_until_synced(srv, "other", areas=(AREA_B,))
    assert not offers_of(before), before


async def test_dnd_fmd_is_skipped_and_gets_the_offer_after_leaving_dnd(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    avail = await fmd(srv, "avail")
    busy = await fmd(srv, "quiet")
    await busy.ok("presence.set", status="dnd")
    question = "Pediatric dosing?"
    req, offered = await mod_request(hcp, question=question)
    assert offered == 1, f"offered {offered}: the dnd FMD must not count"
    await avail.next_event("mod.offer", request=req)
    await busy.no_event("mod.offer", QUIET)

    await busy.ok("presence.set", status="online")
    ev = await busy.next_event("mod.offer", request=req)
    check_offer(ev, req, question, "hana")
    # Leaving dnd again later does not repeat it.
    await busy.ok("presence.set", status="dnd")
    await busy.ok("presence.set", status="online")
    await busy.no_event("mod.offer", QUIET)
    r = await busy.ok("mod.claim", request=req)
    assert r.get("room")
    await avail.next_event("mod.taken", request=req)


async def test_away_and_busy_fmds_are_still_offered(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    away = await fmd(srv, "away")
    busy = await fmd(srv, "busy")
    await away.ok("presence.set", status="away")
    await busy.ok("presence.set", status="busy")
    req, offered = await mod_request(hcp)
    assert offered == 2
    await away.next_event("mod.offer", request=req)
    await busy.next_event("mod.offer", request=req)


async def test_leaving_dnd_offers_reach_every_device_of_the_fmd(server_factory):
    """dnd on any device makes the user dnd; once it is lifted the FMD is available, and offers go
    to every connected device of an FMD (issue 4, Build)."""
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    phone = await fmd(srv, "fred", device="phone")
    laptop = await fmd(srv, "fred", device="laptop")
    await phone.ok("presence.set", status="dnd")
    req, offered = await mod_request(hcp)
    assert offered == 0
    await phone.ok("presence.set", status="online")
    await phone.next_event("mod.offer", request=req)
    await laptop.next_event("mod.offer", request=req)


# --------------------------------------------------------------------------- cancel, expiry, decline


async def test_cancel_withdraws_the_offer_and_later_claims_are_not_found(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    other_hcp = await srv.login("otto", "hcp")
    fmds = [await fmd(srv, f"f{i}") for i in range(3)]
    req, offered = await mod_request(hcp)
    assert offered == 3
    await gather_events(fmds, "mod.offer", request=req)

    await other_hcp.error("mod.cancel", "forbidden", request=req)
    await hcp.ok("mod.cancel", request=req)
    for ev in await gather_events(fmds, "mod.withdrawn", request=req):
        assert ev.get("reason") == "cancelled", ev
    await fmds[0].error("mod.claim", "not_found", request=req)
    # A cancelled request is not offered to a late joiner.
    _, before = await connect_until_synced(srv, "late")
    assert not offers_of(before, req), before
    # Cancelling again does not succeed.
    r = await hcp.request("mod.cancel", request=req)
    assert r.get("type") == "error", r


async def test_expiry_with_ttl_s_sends_expired_and_withdrawn_and_claims_are_expired(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    fmds = [await fmd(srv, f"f{i}") for i in range(2)]
    req, offered = await mod_request(hcp, ttl_s=1)
    assert offered == 2
    await gather_events(fmds, "mod.offer", request=req)
    await hcp.next_event("mod.expired", 10, request=req)
    for ev in await gather_events(fmds, "mod.withdrawn", request=req):
        assert ev.get("reason") == "expired", ev
    await fmds[0].error("mod.claim", "expired", request=req)
    await hcp.no_event("mod.claimed", QUIET)
    _, before = await connect_until_synced(srv, "late")
    assert not offers_of(before, req), before


async def test_mod_ttl_flag_is_the_default_ttl(server_factory):
    srv = server_factory(mod_ttl=1)
    hcp = await srv.login("hana", "hcp")
    f = await fmd(srv, "f1")
    req, _ = await mod_request(hcp)
    await f.next_event("mod.offer", request=req)
    await hcp.next_event("mod.expired", 10, request=req)
    ev = await f.next_event("mod.withdrawn", 10, request=req)
    assert ev.get("reason") == "expired", ev
    await f.error("mod.claim", "expired", request=req)


async def test_decline_stops_offers_to_that_fmd_and_others_can_still_claim(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    decliner = await fmd(srv, "dora")
    other = await fmd(srv, "otis")
    req, offered = await mod_request(hcp)
    assert offered == 2
    await decliner.next_event("mod.offer", request=req)
    await other.next_event("mod.offer", request=req)
    await decliner.ok("mod.decline", request=req)
    await decliner.close()

    # Reconnecting: no offer of the declined request; the other FMD's new device still gets it.
    _, before = await connect_until_synced(srv, "dora")
    assert not offers_of(before, req), f"declined request offered again: {before}"
    _, before_other = await connect_until_synced(srv, "otis", device="dev2")
    assert offers_of(before_other, req), before_other
    # A decline by everyone offered does not end the request.
    r = await other.ok("mod.claim", request=req)
    assert r.get("room")
    await hcp.next_event("mod.claimed", request=req)


async def test_declined_fmd_leaving_dnd_is_not_offered_it_again(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    f = await fmd(srv, "dora")
    req, _ = await mod_request(hcp)
    await f.next_event("mod.offer", request=req)
    await f.ok("mod.decline", request=req)
    await f.ok("presence.set", status="dnd")
    await f.ok("presence.set", status="online")
    await f.no_event("mod.offer", QUIET)


async def test_decline_of_a_closed_or_unknown_request(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    f = await fmd(srv, "f1")
    await f.error("mod.decline", "not_found", request="m-does-not-exist")
    req, _ = await mod_request(hcp)
    await f.ok("mod.claim", request=req)
    r = await f.request("mod.decline", request=req)
    assert r.get("type") == "error", f"decline of a claimed request: {r}"
    await hcp.error("mod.decline", "forbidden", request=req)


# --------------------------------------------------------------------------- tenancy and policy


async def test_cross_tenant_fmd_never_sees_an_offer(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp", tenant="t1")
    mine = await fmd(srv, "f1", tenant="t1")
    theirs = await fmd(srv, "f1", tenant="t2")          # same sub, other tenant
    theirs2 = await fmd(srv, "g1", tenant="t2")
    req, offered = await mod_request(hcp)
    assert offered == 1, f"offered {offered}: FMDs of another tenant counted"
    await mine.next_event("mod.offer", request=req)
    late_c, late = await connect_until_synced(srv, "late", tenant="t2")
    assert not offers_of(late), late
    await theirs.no_event("mod.offer", QUIET)
    await theirs2.no_event("mod.offer", 0)
    # Another tenant's request id is unknown to them: not_found, never forbidden.
    await theirs2.error("mod.claim", "not_found", request=req)
    await theirs2.error("mod.decline", "not_found", request=req)
    # And a request raised in t2 is not offered to t1.
    hcp2 = await srv.login("hana", "hcp", tenant="t2")
    req2, offered2 = await mod_request(hcp2)
    assert offered2 == 3, f"offered {offered2}: expected the three t2 FMDs only"
    await gather_events([theirs, theirs2, late_c], "mod.offer", request=req2)
    await mine.no_event("mod.offer", QUIET, request=req2)
    await mine.error("mod.claim", "not_found", request=req2)
    await hcp2.error("mod.cancel", "not_found", request=req)


async def test_hcp_and_msl_claim_is_forbidden(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    msl = await srv.login("mia", "msl")
    req, _ = await mod_request(hcp)
    await hcp.error("mod.claim", "forbidden", request=req)
    await msl.error("mod.claim", "forbidden", request=req)
    # The request is untouched: an FMD still wins it.
    f = await fmd(srv, "f1")
    await f.ok("mod.claim", request=req)


async def test_msl_may_request(server_factory):
    srv = server_factory()
    msl = await srv.login("mia", "msl")
    f = await fmd(srv, "f1")
    req, offered = await mod_request(msl, mode="call")
    assert offered == 1
    ev = await f.next_event("mod.offer", request=req)
    check_offer(ev, req, "What is the max dose?", "mia", role="msl", mode="call")
    await f.ok("mod.claim", request=req)
    claimed = await msl.next_event("mod.claimed", request=req)
    assert claimed.get("mode") == "call", claimed


async def test_fmd_claim_outside_their_areas_is_forbidden(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    outsider = await fmd(srv, "onc", areas=(AREA_B,))
    req, _ = await mod_request(hcp)
    await outsider.error("mod.claim", "forbidden", request=req)


async def test_fmd_request_is_forbidden(server_factory):
    srv = server_factory()
    f = await fmd(srv, "f1")
    await f.error("mod.request", "forbidden", area=AREA_A, question="q?", mode="chat")


async def test_claim_of_unknown_request_is_not_found(server_factory):
    srv = server_factory()
    f = await fmd(srv, "f1")
    await f.error("mod.claim", "not_found", request="m0000000000000000000")
    await f.error("mod.claim", "not_found", request="")


async def test_request_validation(server_factory):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    await hcp.error("mod.request", "too_large", area=AREA_A, question="x" * 4097, mode="chat", malformed=True)
    # 4096 bytes is allowed; the limit is on bytes, not characters.
    await hcp.ok("mod.request", area=AREA_A, question="x" * 4096, mode="chat")
    await hcp.error("mod.request", "too_large", area=AREA_A, question="é" * 2049, mode="chat")
    await hcp.error("mod.request", "bad_request", area="", question="q?", mode="chat", malformed=True)
    await hcp.error("mod.request", "bad_request", area="   ", question="q?", mode="chat", malformed=True)
    await hcp.error("mod.request", "bad_request", area=AREA_A, question="", mode="chat", malformed=True)
    await hcp.error("mod.request", "bad_request", area=AREA_A, question="q?", mode="fax", malformed=True)
    await hcp.error("mod.request", "bad_request", area=AREA_A, question="q?", mode="chat", ttl_s=0, malformed=True)
    await hcp.error("mod.request", "bad_request", area=AREA_A, question="q?", mode="chat", ttl_s=-5, malformed=True)


# --------------------------------------------------------------------------- restart


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
async def test_open_request_survives_restart_and_is_claimable_exactly_once(server_factory, how):
    srv = server_factory(rate_limit=100000)
    hcp = await srv.login("hana", "hcp")
    f1 = await fmd(srv, "f1")
    f2 = await fmd(srv, "f2")
    dora = await fmd(srv, "dora")
    question = f"Survives a {how}?"
    req, offered = await mod_request(hcp, question=question, ttl_s=600)
    assert offered == 3
    await gather_events([f1, f2, dora], "mod.offer", request=req)
    await dora.ok("mod.decline", request=req)

    def down(s: Server) -> None:
        if how == "sigterm":
            assert s.stop_clean(15) == 0, s.log_tail()
        else:
            s.kill()

    down(srv)
    srv = server_factory.restart(srv)

    # Still open: reconnecting FMDs get the offer during sync; the decline survived too.
    (f1, b1), (f2, b2) = await asyncio.gather(connect_until_synced(srv, "f1"), connect_until_synced(srv, "f2"))
    for before in (b1, b2):
        got = offers_of(before, req)
        assert len(got) == 1, f"after {how}: offers before synced {before}"
        check_offer(got[0], req, question, "hana")
    _, bd = await connect_until_synced(srv, "dora")
    assert not offers_of(bd, req), f"after {how}: declined request offered again: {bd}"
    hcp = await srv.login("hana", "hcp")

    # Claimable exactly once.
    replies = await claim_all([f1, f2], req)
    oks = [r for r in replies if r.get("type") == "ok"]
    errs = [r for r in replies if r.get("type") == "error"]
    assert len(oks) == 1 and len(errs) == 1, replies
    assert errs[0].get("code") == "already_claimed", errs
    room = oks[0]["room"]
    claimed = await hcp.next_event("mod.claimed", 10, request=req)
    assert claimed.get("room") == room, claimed
    await check_room_holds_question(hcp, room, question, "hana")

    # Another restart never produces a second winner, and the room still holds the question.
    down(srv)
    srv = server_factory.restart(srv)
    (f1, b1), (f2, b2) = await asyncio.gather(connect_until_synced(srv, "f1"), connect_until_synced(srv, "f2"))
    assert not offers_of(b1, req) and not offers_of(b2, req), (b1, b2)
    replies = await claim_all([f1, f2], req)
    assert all(r.get("type") == "error" for r in replies), f"a claimed request was won again after {how}: {replies}"
    hcp = await srv.login("hana", "hcp")
    await check_room_holds_question(hcp, room, question, "hana")


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
async def test_expiry_still_happens_after_restart(server_factory, how):
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    req, _ = await mod_request(hcp, ttl_s=3)
    if how == "sigterm":
        assert srv.stop_clean(15) == 0, srv.log_tail()
    else:
        srv.kill()
    srv = server_factory.restart(srv)
    f, before = await connect_until_synced(srv, "f1")
    if offers_of(before, req):
        # Still open when the FMD connected: the restarted server's timer withdraws it.
        ev = await f.next_event("mod.withdrawn", 15, request=req)
        assert ev.get("reason") == "expired", ev
    await f.error("mod.claim", "expired", request=req)


# --------------------------------------------------------------------------- more devices


async def test_requester_gets_mod_claimed_on_every_device_and_winner_other_device_gets_taken(server_factory):
    srv = server_factory()
    hcp1 = await srv.login("hana", "hcp", device="phone")
    hcp2 = await srv.login("hana", "hcp", device="laptop")
    w1 = await fmd(srv, "fred", device="phone")
    w2 = await fmd(srv, "fred", device="laptop")
    req, offered = await mod_request(hcp1)
    assert offered == 1, "offered counts FMDs, not devices"
    await w1.next_event("mod.offer", request=req)
    await w2.next_event("mod.offer", request=req)
    r = await w1.ok("mod.claim", request=req)
    for c in (hcp1, hcp2):
        ev = await c.next_event("mod.claimed", request=req)
        assert ev.get("room") == r["room"] and (ev.get("by") or {}).get("user") == "fred", ev
    await w2.next_event("mod.taken", request=req)
    await w1.no_event("mod.taken", QUIET)


async def test_a_dnd_fmd_connecting_another_device_is_not_offered(server_factory):
    """dnd on any device wins: the FMD stays dnd when another device connects, so no offer."""
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    phone = await fmd(srv, "fred", device="phone")
    await phone.ok("presence.set", status="dnd")
    req, offered = await mod_request(hcp)
    assert offered == 0
    _, before = await connect_until_synced(srv, "fred", device="laptop")
    assert not offers_of(before, req), f"a dnd FMD was offered on connecting another device: {before}"


async def test_leaving_dnd_on_one_device_while_another_is_dnd_offers_nothing(server_factory):
    """dnd on any device wins: lifting it on one device while another is still dnd leaves the FMD dnd."""
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    phone = await fmd(srv, "fred", device="phone")
    laptop = await fmd(srv, "fred", device="laptop")
    await phone.ok("presence.set", status="dnd")
    await laptop.ok("presence.set", status="dnd")
    req, offered = await mod_request(hcp)
    assert offered == 0
    await phone.ok("presence.set", status="online")
    await phone.no_event("mod.offer", QUIET)
    await laptop.no_event("mod.offer", 0)
    # Once the last dnd is lifted the FMD is available.
    await laptop.ok("presence.set", status="online")
    await laptop.next_event("mod.offer", request=req)


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
async def test_closed_requests_keep_their_answers_after_restart(server_factory, how):
    """A restart does not turn a claimed request into not_found (already_claimed), nor an expired one
    (expired); a cancelled one stays not_found."""
    srv = server_factory()
    hcp = await srv.login("hana", "hcp")
    f = await fmd(srv, "f1")
    expired, _ = await mod_request(hcp, ttl_s=1)
    claimed, _ = await mod_request(hcp)
    cancelled, _ = await mod_request(hcp)
    await f.ok("mod.claim", request=claimed)
    await hcp.ok("mod.cancel", request=cancelled)
    await hcp.next_event("mod.expired", 10, request=expired)
    if how == "sigterm":
        assert srv.stop_clean(15) == 0, srv.log_tail()
    else:
        srv.kill()
    srv = server_factory.restart(srv)
    f2 = await fmd(srv, "f2")
    got = {}
    for name, req in (("claimed", claimed), ("expired", expired), ("cancelled", cancelled)):
        r = await f2.request("mod.claim", request=req)
        assert r.get("type") == "error", f"{name} request won after {how}: {r}"
        got[name] = r.get("code")
    assert got == {"claimed": "already_claimed", "expired": "expired", "cancelled": "not_found"}, got
