"""Tenant isolation, user provisioning, and the default presence policy."""

import pytest


def entry(reply, user):
    found = [p for p in reply["presence"] if p["user"] == user]
    assert len(found) == 1, f"expected one presence entry for {user}: {reply}"
    return found[0]


# ---------------------------------------------------------------- tenant isolation


async def test_watching_user_unknown_in_tenant_is_not_found(server):
    w = await server.login("walt", "msl", tenant="t1")
    await w.error("presence.watch", "not_found", users=["nobody-at-all"])
    assert w.is_open


async def test_watching_user_of_another_tenant_is_not_found_like_unknown(server):
    other = await server.login("xavier", "msl", tenant="t2")
    w = await server.login("walt", "msl", tenant="t1")
    r_other = await w.error("presence.watch", "not_found", users=["xavier"])
    r_unknown = await w.error("presence.watch", "not_found", users=["nobody-at-all"])
    assert r_other["code"] == r_unknown["code"] == "not_found"
    assert "t2" not in r_other.get("message", ""), f"error leaks the other tenant: {r_other}"
    # and no presence of the other tenant's user ever reaches the watcher
    await other.ok("presence.set", status="busy")
    await w.no_event("presence", 0.5, user="xavier")


async def test_same_user_id_in_two_tenants_are_distinct_identities(server):
    bob_t2 = await server.login("bob", "msl", tenant="t2")
    await bob_t2.ok("presence.set", status="busy", note="t2 bob")
    bob_t1 = await server.login("bob", "msl", tenant="t1")
    await bob_t1.ok("presence.set", status="away", note="t1 bob")
    w = await server.login("walt", "msl", tenant="t1")
    r = await w.ok("presence.watch", users=["bob"])
    p = entry(r, "bob")
    assert p["status"] == "away" and p["note"] == "t1 bob" and p["devices"] == 1, p
    await bob_t2.ok("presence.set", status="online", note="t2 changed")
    await w.no_event("presence", 0.5, user="bob")


# ---------------------------------------------------------------- user.put


async def test_admin_user_put_provisions_user_who_can_then_be_watched(server):
    admin = await server.login("root", "admin")
    w = await server.login("walt", "msl")
    await w.error("presence.watch", "not_found", users=["fiona"])
    await admin.ok("user.put", user="fiona", role="fmd", name="Fiona F", areas=["oncology", "cardio"])
    r = await w.ok("presence.watch", users=["fiona"])
    p = entry(r, "fiona")
    assert p["status"] == "offline" and p["devices"] == 0, p


async def test_user_put_by_non_admin_is_forbidden(server):
    msl = await server.login("walt", "msl")
    await msl.error("user.put", "forbidden", user="fiona", role="fmd", name="Fiona F", areas=["oncology"])
    # and nothing was provisioned
    await msl.error("presence.watch", "not_found", users=["fiona"])


async def test_user_put_with_bad_role_is_bad_request(server):
    admin = await server.login("root", "admin")
    await admin.error("user.put", "bad_request", user="fiona", role="superuser", name="Fiona F", areas=[],
                      malformed=True)
    w = await server.login("walt", "msl")
    await w.error("presence.watch", "not_found", users=["fiona"])


# ---------------------------------------------------------------- presence policy


async def test_hcp_watching_hcp_is_forbidden(server):
    await server.login("harry", "hcp")
    h = await server.login("helen", "hcp")
    await h.error("presence.watch", "forbidden", users=["harry"])
    assert h.is_open


@pytest.mark.parametrize("role", ["msl", "fmd"])
async def test_hcp_watching_msl_or_fmd_is_allowed(server, role):
    await server.login("staff", role)
    h = await server.login("helen", "hcp")
    r = await h.ok("presence.watch", users=["staff"])
    assert entry(r, "staff")["status"] != "offline"


async def test_msl_watching_hcp_is_allowed(server):
    await server.login("helen", "hcp")
    m = await server.login("mike", "msl")
    r = await m.ok("presence.watch", users=["helen"])
    assert entry(r, "helen")["devices"] == 1
