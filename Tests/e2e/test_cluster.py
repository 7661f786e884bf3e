"""Cluster mode on a real `nats-server -js` (protocol.md § Cluster): every node serves WebSockets; the node
holding the lease is active (it runs the hub and writes the journal in JetStream), the others relay their
connections' sessions to it over the bus. A client gets the same answers whichever node it is on; when the
active node dies another takes over from the journal with nothing acknowledged lost or duplicated."""

import asyncio
import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from liaison_helpers import connect_replay, create_room, http_get, send_many
from test_export import FORMULA, TRICKY, audit_records, check_rows_match_the_trail, http_export, scripted_day
from test_files import download, upload
from test_mod import claim_all, gather_events, mod_request
from test_webrtc import aiortc_call

LEASE = 1.5  # --cluster-lease in seconds: short, so a takeover happens within the test's patience


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NATS:
    """A `nats-server -js` on a free port with its storage under the test's directory."""

    def __init__(self, directory: Path):
        # Debian installs it in /usr/sbin, which is not on every user's PATH
        self.executable = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
        if not self.executable:
            pytest.fail("nats-server is not installed (make deps installs it)")
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.directory = directory
        self.log = open(directory / "nats.log", "ab")
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [self.executable, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.directory / "js")],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nats-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def nats(tmp_path):
    bus = NATS(tmp_path)
    yield bus
    bus.stop()


def start_node(server_factory, nats: NATS, name: str, secret: str, *, wait: bool = True, extra_args=(), **flags):
    return server_factory(secret=secret, wait=wait, rate_limit=100000, extra_args=[
        "--cluster", nats.url, "--node", name, "--cluster-lease", str(LEASE), *extra_args], **flags)


def healthz(node) -> tuple[int, dict]:
    status, _, body = http_get(node.http + "/healthz")
    return status, json.loads(body)


def three_nodes(server_factory, nats, secret: str = "c" * 32, **flags):
    """Nodes a (active: started first), b and c (relaying), all serving."""
    a = start_node(server_factory, nats, "a", secret, **flags)
    return [a] + [start_node(server_factory, nats, name, secret, **flags) for name in ("b", "c")]


async def test_the_first_node_is_active_and_the_others_relay_to_it(server_factory, nats):
    a, b, c = three_nodes(server_factory, nats)
    status, body = healthz(a)
    assert status == 200 and body["cluster"] == {"node": "a", "role": "active", "active": "a", "bus": "connected"}, body
    for node, name in ((b, "b"), (c, "c")):
        status, body = healthz(node)
        assert status == 200 and body["cluster"] == {"node": name, "role": "relay", "active": "a", "bus": "connected"}, body
    # The HTTP API that needs the domain is the active node's: a relay redirects there (307 keeps the
    # method and body), once it has learnt where that is
    deadline = time.monotonic() + 10
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=5)
        conn.request("GET", "/v1/files/f123?download=1")
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 503 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert response.status == 307, response.status
    assert response.getheader("Location") == a.http + "/v1/files/f123?download=1", response.getheader("Location")


async def test_presence_is_the_same_on_every_node(server_factory, nats):
    a, b, c = three_nodes(server_factory, nats)
    w = await b.login("harry", "hcp")
    m = await c.login("mia", "msl", device="phone")
    await m.ok("presence.set", status="busy", note="in clinic")
    r = await w.ok("presence.watch", users=["mia"])
    assert [(p["user"], p["status"]) for p in r["presence"]] == [("mia", "busy")], r
    m2 = await a.login("mia", "msl", device="laptop")
    await m2.ok("presence.set", status="online")
    await w.next_event("presence", user="mia", status="online")
    await m2.close()
    await w.next_event("presence", user="mia", status="busy")
    await m.close()
    await w.next_event("presence", user="mia", status="offline")


async def test_chat_across_three_nodes_is_ordered_gapless_and_idempotent(server_factory, nats):
    a, b, c = three_nodes(server_factory, nats)
    m = await b.login("mia", "msl")
    h = await c.login("harry", "hcp")
    f = await a.login("fred", "fmd")
    room = await create_room(m, "group", ["harry", "fred"], title="three nodes")
    oks = await send_many(m, room, 100, prefix="x")
    assert [o["seq"] for o in oks] == list(range(1, 101))
    for reader in (h, f):
        got = [await reader.next_event("msg", room=room, seq=n) for n in range(1, 101)]
        assert [g["body"] for g in got] == [f"x body {i}" for i in range(100)]
    # the same client_msg_id sent again, from another device on another node, is the same message
    m2 = await a.login("mia", "msl", device="tablet")
    again = await m2.ok("msg.send", room=room, body="x body 42", client_msg_id="x-42")
    assert again["seq"] == 43, again
    # harry, offline, catches up on yet another node
    await h.close()
    await send_many(m, room, 20, prefix="y")
    h2, msgs = await connect_replay(b, "harry", "hcp", device="dev2")
    assert [x["seq"] for x in msgs if x["room"] == room] == list(range(1, 121))


async def test_100_mod_races_with_fmds_on_three_nodes_have_one_winner_each(server_factory, nats):
    nodes = three_nodes(server_factory, nats)
    hcp = await nodes[1].login("hana", "hcp")
    fmds = [await nodes[i % 3].login(f"fmd{i}", "fmd", areas=["cardiology"]) for i in range(9)]
    for round_ in range(100):
        req, offered = await mod_request(hcp, "cardiology", f"question {round_}")
        assert offered == 9, offered
        await gather_events(fmds, "mod.offer", request=req)
        replies = await claim_all(fmds, req)
        winners = [r for r in replies if r["type"] == "ok"]
        assert len(winners) == 1, f"round {round_}: {replies}"
        assert sorted(r.get("code") for r in replies if r["type"] == "error") == ["already_claimed"] * 8, replies
        await hcp.next_event("mod.claimed", request=req)


async def test_a_call_across_three_nodes_reaches_a_data_channel_between_two_aiortc_peers(server_factory, nats):
    a, b, c = three_nodes(server_factory, nats)
    await aiortc_call(alice_at=b, phone_at=c, laptop_at=a)


async def test_a_device_connecting_on_another_node_replaces_the_first_with_4409(server_factory, nats):
    a, b, c = three_nodes(server_factory, nats)
    first = await b.login("harry", "hcp", device="phone")
    await c.login("harry", "hcp", device="phone")
    await asyncio.wait_for(first.closed.wait(), 10)
    assert first.close_code == 4409, first.close_code


def wait_for_active(nodes, timeout: float = 30.0):
    """The node among `nodes` whose /healthz says it is active, waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for node in nodes:
            try:
                status, body = healthz(node)
            except OSError:
                continue
            if status == 200 and body["cluster"]["role"] == "active":
                return node
        time.sleep(0.05)
    raise AssertionError("no node became active:\n" + "\n".join(n.log_tail(20) for n in nodes))


async def test_killing_the_active_node_under_load_loses_no_acknowledged_message_and_another_serves_within_10_s(
    server_factory, nats,
):
    a, b, c = three_nodes(server_factory, nats, "k" * 32)
    m = await b.login("mia", "msl")  # relayed to a
    await a.login("harry", "hcp")
    room = await create_room(m, "group", ["harry"], title="failover")
    h = next(cl for cl in server_factory.clients if cl.label.startswith("t1/harry"))
    await h.close()

    # mia sends as fast as 32 unanswered requests allow; a is killed while she does
    sent: list[tuple[str, str]] = []

    async def sender():
        i = 0
        try:
            while True:
                cmid = f"f-{i}"
                sent.append((await m.send("msg.send", room=room, body=f"failover {i}", client_msg_id=cmid), cmid))
                i += 1
                while len(sent) - sum(1 for rid, _ in sent if rid in m.replies) >= 32:
                    if m.closed.is_set():
                        return
                    await asyncio.sleep(0.001)
        except ConnectionClosed:
            return

    task = asyncio.create_task(sender())
    await asyncio.sleep(1.0)
    a.kill()
    killed = time.monotonic()
    await asyncio.wait_for(task, 15)
    assert m.close_code in (1001, 1012), m.close_code  # its session was on a: b tells it to reconnect
    acked = {cmid: m.replies[rid][0]["seq"] for rid, cmid in sent if rid in m.replies}
    assert all(m.replies[rid][0]["type"] == "ok" for rid, _ in sent if rid in m.replies)
    assert len(acked) > 50, f"only {len(acked)} acknowledged before the kill"

    active = wait_for_active([b, c])
    failover = time.monotonic() - killed
    assert failover < 10, f"{active.log_path} served {failover:.1f} s after the kill"
    relay = c if active is b else b

    # mia resumes through the node that relays, and sends again everything she has no answer for
    m2 = await relay.login("mia", "msl", device="dev1")
    for rid, cmid in sent:
        r = await m2.ok("msg.send", room=room, body=f"failover {cmid[2:]}", client_msg_id=cmid)
        if cmid in acked:
            assert r["seq"] == acked[cmid], f"{cmid} was acknowledged as {acked[cmid]}, now {r['seq']}"
        acked[cmid] = r["seq"]
    assert sorted(acked.values()) == list(range(1, len(sent) + 1)), "seqs have a gap or a duplicate"

    # harry, offline throughout, gets every message once, in order
    h2, msgs = await connect_replay(active, "harry", "hcp")
    replayed = [(x["seq"], x["client_msg_id"]) for x in msgs if x["room"] == room]
    assert replayed == sorted((seq, cmid) for cmid, seq in acked.items()), replayed[:5]
    print(f"failover: a node was active {failover:.2f} s after the kill; {len(sent)} sent, all present once")


async def test_provisioned_users_and_pushers_outlive_the_active_node(server_factory, nats):
    """What is not a room's (the people directory, push registrations) is in the journal too: the node that
    takes over knows the users an admin provisioned and the devices' pushers, though none of them reconnected."""
    gateway = ["--push-gateway", "main=http://127.0.0.1:9"]
    a = start_node(server_factory, nats, "a", "p" * 32, extra_args=gateway)
    b = start_node(server_factory, nats, "b", "p" * 32, extra_args=gateway)
    admin = await b.login("root", "admin")
    await admin.ok("user.put", user="hito", role="hcp", name="Dr Hana Ito", areas=[])
    phone = await b.login("ana", "hcp", device="phone")
    await phone.ok("push.register", gateway="main", app_id="com.example.liaison", pushkey="k-ana")
    a.kill()
    assert wait_for_active([b]) is b
    m = await b.login("mlaine", "msl", name="Mika Laine")
    assert [u["user"] for u in (await m.ok("user.search", query="hana"))["users"]] == ["hito"]
    tablet = await b.login("ana", "hcp", device="tablet")
    assert [(p["device"], p["pushkey"]) for p in (await tablet.ok("push.list"))["pushers"]] == [("phone", "k-ana")]


async def test_a_shared_file_outlives_the_active_node_that_stored_it(server_factory, nats, tmp_path):
    """Its bytes are in JetStream: the node that takes over serves them; a relay redirects the download there."""
    key = tmp_path / "data.key"
    key.write_bytes(os.urandom(32))
    flags = ["--data-key-file", str(key)]
    a, b, c = (start_node(server_factory, nats, name, "f" * 32, extra_args=flags) for name in ("a", "b", "c"))
    msl = await b.login("mika", "msl")
    hcp = await c.login("hana", "hcp")
    room = await create_room(msl, "direct", ["hana"])
    data = os.urandom(1_300_000)  # three chunks in JetStream
    status, _, info = await asyncio.to_thread(upload, a, a.token("mika", "msl"), data, "application/pdf", "study.pdf")
    assert status == 201, info
    sent = await msl.ok("msg.send", room=room, body="the study", attachments=[{"file": info["file"]}])
    await hcp.next_event("msg", room=room, seq=sent["seq"])
    a.kill()
    active = wait_for_active([b, c])
    status, _, body = await asyncio.to_thread(download, active, active.token("hana", "hcp"), info["file"])
    assert status == 200 and body == data, status
    relay = c if active is b else b
    deadline = time.monotonic() + 10
    while True:  # the relay learns where the new active node is
        status, headers, _ = await asyncio.to_thread(download, relay, relay.token("hana", "hcp"), info["file"])
        if status == 307 and headers["location"].startswith(active.http) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert status == 307 and headers["location"] == f"{active.http}/v1/files/{info['file']}", (status, headers)


async def test_the_interaction_record_of_relayed_sessions_exports_through_a_relay(server_factory, nats):
    """Everything happened through a relay; the export, asked of the relay, is redirected to the active
    node and holds every interaction with its body (the journal is not on the active node's disk: it
    snapshots first) and its audit hash."""
    a, b, c = three_nodes(server_factory, nats)
    day = await scripted_day(b, trail=a)
    status, _, body = await asyncio.to_thread(http_export, b, b.token("root", "admin"))
    assert status == 200, body
    rows = [json.loads(line) for line in body.decode().splitlines()]
    check_rows_match_the_trail(rows, audit_records(a))
    chat = [row for row in rows if row["kind"] == "message" and row["room"] == day["room"]]
    assert [row["seq"] for row in chat] == [1, 2, 3, 4, 5]
    assert [row["body"] for row in chat[:3]] == ["morning, ben", FORMULA, TRICKY]
    assert all(row["body_status"] == "included" for row in chat), chat


async def test_a_node_that_loses_the_bus_answers_unavailable_and_degraded_then_recovers(server_factory, nats):
    a = start_node(server_factory, nats, "a", "u" * 32)
    m = await a.login("mia", "msl")
    await a.login("harry", "hcp")
    room = await create_room(m, "group", ["harry"], title="bus")
    await m.ok("msg.send", room=room, body="before", client_msg_id="b-1")
    nats.stop()
    deadline = time.monotonic() + 10
    while healthz(a)[0] != 503 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    status, body = healthz(a)
    assert status == 503 and body["status"] == "degraded" and body["cluster"]["bus"] == "lost", body
    await m.error("msg.send", "unavailable", room=room, body="during", client_msg_id="d-1")
    listed = await m.ok("room.list")  # what needs no journal still works
    assert any(r["room"] == room for r in listed["rooms"]), listed

    nats.start()
    deadline = time.monotonic() + 15
    while healthz(a)[0] != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert healthz(a)[0] == 200, a.log_tail()
    r = await m.ok("msg.send", 15, room=room, body="after", client_msg_id="a-1")
    assert r["seq"] == 2, r
