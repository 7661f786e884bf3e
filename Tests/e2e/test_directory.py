"""The people directory: `user.search` finds users of the caller's tenant that the role policy
lets them reach or watch, by id or by the start of their name or of a word of it."""

import pytest

PEOPLE = [
    # user, role, name, areas
    ("mlaine", "msl", "Mika Laine", ["oncology"]),
    ("hito", "fmd", "Dr Hana Ito", ["oncology", "cardio"]),
    ("fomar", "fmd", "Farid Omar", ["cardio"]),
    ("alee", "hcp", "Dr Ann Lee", []),
    ("bkim", "hcp", "Dr Bo Kim", []),
]


@pytest.fixture
async def directory(server):
    """An admin of t1 provisions PEOPLE; t2 has a Mika of its own."""
    admin = await server.login("root", "admin")
    for user, role, name, areas in PEOPLE:
        await admin.ok("user.put", user=user, role=role, name=name, areas=areas)
    other = await server.login("root2", "admin", tenant="t2")
    await other.ok("user.put", user="mika2", role="msl", name="Mika Other", areas=["oncology"])
    return server


def ids(reply: dict) -> list[str]:
    return [u["user"] for u in reply["users"]]


async def test_search_matches_name_prefix_and_words_case_insensitively(directory):
    m = await directory.login("mlaine", "msl", name="Mika Laine", areas=["oncology"])
    assert ids(await m.ok("user.search", query="HANA")) == ["hito"]
    assert ids(await m.ok("user.search", query="ito")) == ["hito"]
    assert ids(await m.ok("user.search", query="dr")) == ["alee", "bkim", "hito"]  # sorted by name
    assert ids(await m.ok("user.search", query="fom")) == ["fomar"]  # the id
    assert ids(await m.ok("user.search", query="xyz")) == []


async def test_results_carry_name_role_areas_and_status(directory):
    m = await directory.login("mlaine", "msl", name="Mika Laine", areas=["oncology"])
    hana = await directory.login("hito", "fmd", name="Dr Hana Ito", areas=["oncology", "cardio"])
    await hana.ok("presence.set", status="busy")
    r = await m.ok("user.search", query="hana")
    assert r["users"] == [{"user": "hito", "name": "Dr Hana Ito", "role": "fmd",
                           "areas": ["oncology", "cardio"], "status": "busy"}]
    assert (await m.ok("user.search", query="farid"))["users"][0]["status"] == "offline"


async def test_role_and_area_filters(directory):
    m = await directory.login("mlaine", "msl", name="Mika Laine", areas=["oncology"])
    assert ids(await m.ok("user.search", role="fmd")) == ["hito", "fomar"]
    assert ids(await m.ok("user.search", role="fmd", area="cardio")) == ["hito", "fomar"]
    assert ids(await m.ok("user.search", area="oncology")) == ["hito"]
    await m.error("user.search", "bad_request", malformed=True, role="surgeon")


async def test_an_hcp_never_finds_other_hcps(directory):
    h = await directory.login("alee", "hcp", name="Dr Ann Lee")
    found = ids(await h.ok("user.search", query="dr"))
    assert found == ["hito"], found
    everyone = ids(await h.ok("user.search"))
    assert "bkim" not in everyone and "root" not in everyone
    assert set(everyone) == {"mlaine", "hito", "fomar"}


async def test_other_tenants_are_never_found(directory):
    m = await directory.login("mlaine", "msl", name="Mika Laine")
    assert "mika2" not in ids(await m.ok("user.search", query="mika"))
    assert ids(await m.ok("user.search", query="mika")) == []  # not themself either
    t2 = await directory.login("sam", "msl", tenant="t2")
    assert ids(await t2.ok("user.search", query="mika")) == ["mika2"]


async def test_limit_is_enforced(directory):
    m = await directory.login("mlaine", "msl", name="Mika Laine")
    assert len((await m.ok("user.search", limit=2))["users"]) == 2
    assert len((await m.ok("user.search", limit=50))["users"]) == 5  # at the limit: all 5 others of t1
    await m.error("user.search", "bad_request", malformed=True, limit=51)
    await m.error("user.search", "bad_request", malformed=True, limit=0)
    await m.error("user.search", "bad_request", malformed=True, query="x" * 129)
    await m.error("user.search", "bad_request", malformed=True, query=7)
    await m.error("user.search", "bad_request", malformed=True, limit="ten")
    assert len((await m.ok("user.search", query="x" * 128))["users"]) == 0  # at the query limit
    assert m.is_open
