"""Presence: watch, aggregation over devices, dnd, notes, events, grace, unwatch."""

import asyncio
import time

from liaison_helpers import PRESENCE_FIELDS, now_ms


def entry(reply, user):
    found = [p for p in reply["presence"] if p["user"] == user]
    assert len(found) == 1, f"expected one presence entry for {user}: {reply}"
    return found[0]


async def test_presence_watch_returns_current_presence_with_all_fields(server):
    a = await server.login("alice", "msl")
    await a.ok("presence.set", status="busy", note="in clinic")
    w = await server.login("walt", "msl")
    r = await w.ok("presence.watch", users=["alice"])
    assert isinstance(r["presence"], list), r
    p = entry(r, "alice")
    assert PRESENCE_FIELDS <= set(p), f"missing fields in {p}"
    assert p["status"] == "busy"
    assert p["note"] == "in clinic"
    assert p["devices"] == 1
    assert isinstance(p["last_seen"], int) and not isinstance(p["last_seen"], bool)
    assert abs(p["last_seen"] - now_ms()) < 120_000, f"last_seen should be ms since epoch: {p}"


async def test_presence_event_is_sent_to_watchers_on_each_change(server):
    a = await server.login("alice", "msl")
    await a.ok("presence.set", status="online")
    w1 = await server.login("walt", "msl")
    w2 = await server.login("wanda", "msl")
    await w1.ok("presence.watch", users=["alice"])
    await w2.ok("presence.watch", users=["alice"])
    for status in ["busy", "away", "online"]:
        await a.ok("presence.set", status=status)
        for w in (w1, w2):
            ev = await w.next_event("presence", user="alice")
            assert "id" not in ev, ev
            assert PRESENCE_FIELDS <= set(ev), ev
            assert ev["status"] == status, f"expected {status}, got {ev}"
            assert ev["devices"] == 1


async def test_presence_note_is_carried_in_watch_and_events(server):
    a = await server.login("alice", "msl")
    w = await server.login("walt", "msl")
    await w.ok("presence.watch", users=["alice"])
    await a.ok("presence.set", status="away", note="back at 3pm")
    ev = await w.next_event("presence", user="alice", status="away")
    assert ev["note"] == "back at 3pm"
    r = await w.ok("presence.watch", users=["alice"])
    assert entry(r, "alice")["note"] == "back at 3pm"


async def test_presence_is_most_available_device_and_follows_device_close(server):
    a1 = await server.login("alice", "msl", device="phone")
    await a1.ok("presence.set", status="online")
    a2 = await server.login("alice", "msl", device="laptop")
    await a2.ok("presence.set", status="away")
    w = await server.login("walt", "msl")
    r = await w.ok("presence.watch", users=["alice"])
    p = entry(r, "alice")
    assert p["status"] == "online" and p["devices"] == 2, f"online > away across devices: {p}"
    # busy on one device, away on the other -> away
    await a1.ok("presence.set", status="busy")
    ev = await w.next_event("presence", user="alice")
    assert ev["status"] == "away", f"away > busy across devices: {ev}"
    await a1.ok("presence.set", status="online")
    ev = await w.next_event("presence", user="alice")
    assert ev["status"] == "online", ev
    # device A goes away entirely: the user becomes away with one device
    await a1.close()
    ev = await w.next_event("presence", user="alice", timeout=4)
    assert ev["status"] == "away" and ev["devices"] == 1, ev


async def test_dnd_on_any_device_wins(server):
    a1 = await server.login("alice", "msl", device="phone")
    a2 = await server.login("alice", "msl", device="laptop")
    await a1.ok("presence.set", status="online")
    await a2.ok("presence.set", status="online")
    w = await server.login("walt", "msl")
    await w.ok("presence.watch", users=["alice"])
    await a2.ok("presence.set", status="dnd")
    ev = await w.next_event("presence", user="alice")
    assert ev["status"] == "dnd", ev
    # the other device being online does not override dnd
    await a1.ok("presence.set", status="online", note="still here")
    await asyncio.sleep(0.3)
    r = await w.ok("presence.watch", users=["alice"])
    assert entry(r, "alice")["status"] == "dnd", r
    for ev in w.pending("presence", user="alice"):
        assert ev["status"] == "dnd", ev


async def test_reconnect_within_grace_sends_no_presence_event(server):
    a = await server.login("alice", "msl", device="phone")
    await a.ok("presence.set", status="online")
    w = await server.login("walt", "msl")
    r = await w.ok("presence.watch", users=["alice"])
    assert entry(r, "alice")["status"] == "online"
    await a.close()
    t0 = time.monotonic()
    a = await server.login("alice", "msl", device="phone")  # well within the 0.5 s grace
    assert time.monotonic() - t0 < 0.45, "reconnect too slow to test the grace period"
    await w.no_event("presence", 1.5, user="alice")
    r = await w.ok("presence.watch", users=["alice"])
    p = entry(r, "alice")
    assert p["status"] == "online" and p["devices"] == 1, p


async def test_offline_after_grace_emits_offline_event_with_zero_devices(server):
    a = await server.login("alice", "msl")
    w = await server.login("walt", "msl")
    await w.ok("presence.watch", users=["alice"])
    await a.close()
    t0 = time.monotonic()
    ev = await w.next_event("presence", user="alice", timeout=4)
    elapsed = time.monotonic() - t0
    assert ev["status"] == "offline", ev
    assert ev["devices"] == 0, ev
    assert isinstance(ev["last_seen"], int) and abs(ev["last_seen"] - now_ms()) < 60_000, ev
    assert elapsed >= 0.35, f"offline announced after {elapsed:.2f}s, before the 0.5 s grace"
    r = await w.ok("presence.watch", users=["alice"])
    p = entry(r, "alice")
    assert p["status"] == "offline" and p["devices"] == 0, p


async def test_presence_unwatch_stops_events(server):
    a = await server.login("alice", "msl")
    w = await server.login("walt", "msl")
    await w.ok("presence.watch", users=["alice"])
    await a.ok("presence.set", status="busy")
    await w.next_event("presence", user="alice", status="busy")
    await w.ok("presence.unwatch", users=["alice"])
    await a.ok("presence.set", status="away")
    await a.ok("presence.set", status="online")
    await w.no_event("presence", 1.0, user="alice")


async def test_presence_watch_belongs_to_the_connection_that_asked(server):
    a = await server.login("alice", "msl")
    w_phone = await server.login("walt", "msl", device="phone")
    w_laptop = await server.login("walt", "msl", device="laptop")
    await w_phone.ok("presence.watch", users=["alice"])
    await a.ok("presence.set", status="busy")
    await w_phone.next_event("presence", user="alice", status="busy")
    await w_laptop.no_event("presence", 0.7, user="alice")
