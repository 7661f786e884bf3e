"""Session: hello, authentication failures, hello timeout, device replacement."""

import asyncio
import base64
import json
import time

import pytest

from liaison_helpers import SUBPROTOCOL, token


async def test_hello_success_returns_user_role_session_heartbeat_then_synced(server):
    c = await server.connect("u1")
    assert c.ws.subprotocol == SUBPROTOCOL
    rid = await c.send("hello", token=server.token("u1", "msl", name="Una", areas=["cardio"]), device="ipad-7", client="app/1.2")
    r = await c.reply(rid)
    assert r["type"] == "ok", r
    assert r["id"] == rid
    assert r["user"] == "u1"
    assert r["role"] == "msl"
    assert isinstance(r["session"], str) and r["session"], r
    assert isinstance(r["heartbeat"], (int, float)) and not isinstance(r["heartbeat"], bool), r
    assert r["heartbeat"] == 1, f"heartbeat should reflect the configured --heartbeat 1, got {r}"
    synced = await c.next_event("synced")
    assert "id" not in synced, synced
    # the session is usable
    await c.ok("presence.set", status="online")


async def _expect_unauthorized_then_4401(server, tok, label, message=None):
    """`hello` with `tok` is refused `unauthorized` (with `message`, when given), then close 4401."""
    c = await server.connect(label)
    rid = await c.send("hello", token=tok, device="d1", client="e2e")
    r = await c.reply(rid)
    assert r["type"] == "error", r
    assert r["code"] == "unauthorized", r
    assert r["id"] == rid
    assert isinstance(r.get("message"), str), r
    if message is not None:
        assert r["message"] == message, r
    code = await c.wait_closed()
    assert code == 4401, f"expected close 4401, got {code}"
    assert not c.pending("synced")


async def test_hello_with_bad_signature_is_unauthorized_and_closes_4401(server):
    tok = token("not-the-server-secret-but-long-enough-for-hs256", "u1", "msl", "t1")
    await _expect_unauthorized_then_4401(server, tok, "badsig", "token rejected: bad signature")


async def test_hello_with_tampered_payload_is_unauthorized_and_closes_4401(server):
    tok = server.token("u1", "hcp")
    h, p, s = tok.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["role"] = "admin"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    await _expect_unauthorized_then_4401(server, f"{h}.{p2}.{s}", "tampered", "token rejected: bad signature")


async def test_hello_with_expired_token_is_unauthorized_and_closes_4401(server):
    tok = token(server.secret, "u1", "msl", "t1", ttl=-120)
    await _expect_unauthorized_then_4401(server, tok, "expired", "token expired")


async def test_hello_with_unsigned_alg_none_token_is_unauthorized_and_closes_4401(server):
    tok = token(None, "u1", "msl", "t1", alg="none")
    await _expect_unauthorized_then_4401(server, tok, "algnone")


@pytest.mark.parametrize("claim", ["role", "tenant", "sub"])
async def test_hello_with_token_missing_claim_is_unauthorized_and_closes_4401(server, claim):
    tok = token(server.secret, "u1", "msl", "t1", omit=(claim,))
    await _expect_unauthorized_then_4401(server, tok, f"missing-{claim}")


async def test_hello_with_unknown_role_is_unauthorized_and_closes_4401(server):
    tok = token(server.secret, "u1", "superuser", "t1")
    await _expect_unauthorized_then_4401(server, tok, "badrole")


async def test_hello_with_garbage_token_is_unauthorized_and_closes_4401(server):
    await _expect_unauthorized_then_4401(server, "this-is-not-a-jwt", "garbage")


async def test_no_frame_within_hello_timeout_closes_4401(server):
    c = await server.connect("silent")
    t0 = time.monotonic()
    code = await c.wait_closed(timeout=4)  # --hello-timeout 1
    elapsed = time.monotonic() - t0
    assert code == 4401, f"expected close 4401, got {code}"
    assert elapsed >= 0.5, f"closed too early ({elapsed:.2f}s) for a 1 s hello timeout"


async def test_non_hello_first_frame_closes_4401(server):
    c = await server.connect("nohello")
    rid = await c.send("presence.set", status="online")
    code = await c.wait_closed(timeout=4)
    assert code == 4401, f"expected close 4401, got {code}"
    # If the server answered before closing, it must not have been an ok.
    for r in c.replies.get(rid, []):
        assert r["type"] == "error" and r["code"] == "unauthorized", r


async def test_device_replacement_closes_old_connection_with_4409(server):
    first = await server.login("u1", "msl", device="phone")
    second = await server.login("u1", "msl", device="phone")
    code = await first.wait_closed()
    assert code == 4409, f"old connection should be closed with 4409, got {code}"
    assert second.is_open
    await second.ok("presence.set", status="away")


async def test_different_devices_of_same_user_coexist(server):
    a = await server.login("u1", "msl", device="phone")
    b = await server.login("u1", "msl", device="laptop")
    await asyncio.sleep(0.3)
    assert a.is_open and b.is_open
    await a.ok("presence.set", status="online")
    await b.ok("presence.set", status="online")
    w = await server.login("w1", "msl")
    r = await w.ok("presence.watch", users=["u1"])
    [p] = [p for p in r["presence"] if p["user"] == "u1"]
    assert p["devices"] == 2, r
