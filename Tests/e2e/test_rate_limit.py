"""Per-connection rate limit: excess requests get `rate_limited`, every request is answered once."""

import asyncio


async def test_burst_over_rate_limit_gets_rate_limited_each_answered_once_and_recovers(server_factory):
    srv = server_factory(rate_limit=5)  # 5/s, burst 2x = 10
    other = await srv.login("bob", "msl")
    c = await srv.login("alice", "msl")
    await asyncio.sleep(2.1)  # let the bucket refill fully after hello
    ids = [f"rl{i}" for i in range(40)]
    for i in ids:
        await c.send_json({"type": "presence.watch", "id": i, "users": ["bob"]})
    await c._wait(lambda: all(i in c.replies for i in ids), 5, "replies to all 40 requests")
    await asyncio.sleep(0.5)  # any duplicate answers would have arrived by now
    limited, ok = [], []
    for i in ids:
        rs = c.replies[i]
        assert len(rs) == 1, f"request {i} answered {len(rs)} times: {rs}"
        r = rs[0]
        assert r["id"] == i
        if r["type"] == "ok":
            ok.append(i)
        else:
            assert r["type"] == "error" and r["code"] == "rate_limited", r
            limited.append(i)
    assert limited, "40 requests at once with --rate-limit 5 should be partly rate_limited"
    assert len(ok) >= 5, f"at least the burst should pass, only {len(ok)} did"
    assert len(ok) <= 20, f"too many requests passed a 5/s (burst 10) limit: {len(ok)}"
    assert not [e for e in c.pending("error")], c.pending("error")
    # the connection survives
    assert c.is_open, f"closed with {c.close_code}"
    await asyncio.sleep(1.2)
    for _ in range(3):
        await c.ok("presence.watch", users=["bob"])
    assert other.is_open
