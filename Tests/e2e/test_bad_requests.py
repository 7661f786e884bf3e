"""A bad request gets `error bad_request`, never closes the connection and never changes state."""

import json

import pytest


async def _setup(server):
    """A (msl) is `away` with note "n1"; W (msl) watches A and has seen that."""
    a = await server.login("alice", "msl")
    w = await server.login("walt", "msl")
    await a.ok("presence.set", status="away", note="n1")
    r = await w.ok("presence.watch", users=["alice"])
    [p] = [p for p in r["presence"] if p["user"] == "alice"]
    assert p["status"] == "away" and p["note"] == "n1", r
    return a, w


async def _assert_alive_and_unchanged(server, a, w):
    # the connection stays open: a following request succeeds
    assert a.is_open, f"connection closed with {a.close_code}"
    await a.ok("presence.watch", users=["walt"])
    # state unchanged: no presence event for alice, and a fresh look still says away/n1
    await w.no_event("presence", 0.4, user="alice")
    r = await w.ok("presence.watch", users=["alice"])
    [p] = [p for p in r["presence"] if p["user"] == "alice"]
    assert p["status"] == "away" and p["note"] == "n1", f"state changed by a bad request: {r}"


# name -> (frame to send, id expected in the error reply or None)
CASES = {
    "bad_json": ('{"type":"presence.set","id":"bj1","status":"dnd"', None),
    "unknown_type": (json.dumps({"type": "no.such.type", "id": "ut1"}), "ut1"),
    "missing_field": (json.dumps({"type": "presence.set", "id": "mf1"}), "mf1"),
    "missing_field_note_only": (json.dumps({"type": "presence.set", "id": "mf2", "note": "x"}), "mf2"),
    "wrong_typed_field": (json.dumps({"type": "presence.set", "id": "wt1", "status": 5}), "wt1"),
    "invalid_enum_value": (json.dumps({"type": "presence.set", "id": "ie1", "status": "sleeping"}), "ie1"),
    "non_object_json": ('["presence.set", "dnd"]', None),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_request_is_bad_request_keeps_connection_and_state(server, case):
    a, w = await _setup(server)
    frame, rid = CASES[case]
    await a.send_raw(frame)
    if rid is not None:
        r = await a.reply(rid)
        assert r["type"] == "error" and r["code"] == "bad_request", r
        assert r["id"] == rid
        assert isinstance(r.get("message"), str), r
    else:
        r = await a.next_event("error")
        assert r["code"] == "bad_request", r
    await _assert_alive_and_unchanged(server, a, w)


async def test_binary_frame_is_bad_request_keeps_connection_and_state(server):
    a, w = await _setup(server)
    # a binary frame carrying an otherwise valid request must not be executed
    await a.send_raw(json.dumps({"type": "presence.set", "id": "bin1", "status": "dnd"}).encode())
    r = await a._wait(
        lambda: a.replies.get("bin1") or a.pending("error"), 5, "error reply to binary frame"
    )
    r = r[0]
    assert r["type"] == "error" and r["code"] == "bad_request", r
    await _assert_alive_and_unchanged(server, a, w)


async def test_wrong_typed_watch_users_is_bad_request(server):
    a, w = await _setup(server)
    r = await a.error("presence.watch", "bad_request", users="walt", malformed=True)
    await _assert_alive_and_unchanged(server, a, w)
