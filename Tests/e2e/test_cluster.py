"""Cluster mode on a real `nats-server -js` (protocol.md § Cluster): every node serves WebSockets; the node
holding the lease is active (it runs the hub and writes the journal in JetStream), the others relay their
connections' sessions to it over the bus. A client gets the same answers whichever node it is on; when the
active node dies another takes over from the journal with nothing acknowledged lost or duplicated."""

import asyncio
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from liaison_helpers import connect_replay, create_room, http_get, metric_sum, parse_prometheus, send_many
from test_export import (FORMULA, TRICKY, audit_records, check_rows_match_the_trail, http_export, run_cli,
                         scripted_day, wait_audited)
from test_files import download, upload
from test_meetings import schedule
from test_push import APP, gateway, offline_with_pusher  # noqa: F401 (gateway is a fixture)
from test_mod import claim_all, gather_events, mod_request
from test_offline import pump
from test_webrtc import aiortc_call

LEASE = 3  # --cluster-lease in seconds: short, so a takeover happens within the test's patience, long enough that a busy machine does not miss renewals


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
        args = getattr(self, "args", None) or ["-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.directory / "js")]
        self.process = subprocess.Popen(
            [self.executable, *args], stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
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


class NATSCluster:
    """Three `nats-server -js` clustered (routes between them), as in production: the streams and the lease
    bucket get three replicas, and losing one server loses nothing."""

    def __init__(self, directory: Path):
        self.servers = []
        ports = [(free_port(), free_port()) for _ in range(3)]
        routes = ", ".join(f"nats://127.0.0.1:{route}" for _, route in ports)
        for n, (client, route) in enumerate(ports, 1):
            conf = directory / f"nats-{n}.conf"
            conf.write_text(
                f"server_name: n{n}\nlisten: 127.0.0.1:{client}\n"
                f"jetstream {{ store_dir: \"{directory / f'js-{n}'}\" }}\n"
                f"cluster {{ name: liaison, listen: 127.0.0.1:{route}, routes: [{routes}] }}\n")
            server = NATS.__new__(NATS)
            server.executable = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
            server.port, server.url, server.directory = client, f"nats://127.0.0.1:{client}", directory
            server.log = open(directory / f"nats-{n}.log", "ab")
            server.args = ["-c", str(conf)]
            self.servers.append(server)
        for server in self.servers:
            server.start()
        self.url = ",".join(server.url for server in self.servers)

    def stop(self):
        for server in self.servers:
            server.stop()


def stop_nodes_then(bus, server_factory):
    """The nodes stop before their bus does (a node whose bus is gone waits on it as it stops)."""
    for srv in server_factory.servers:
        srv.stop(5)
    bus.stop()


@pytest.fixture
def nats(tmp_path, server_factory):
    bus = NATS(tmp_path)
    yield bus
    stop_nodes_then(bus, server_factory)


def start_node(server_factory, nats: NATS, name: str, secret: str, *, wait: bool = True, extra_args=(), **flags):
    """A node of the cluster; with `wait`, once it is settled: active, or relaying to a known active node (a
    node serves as a relay from its start, and one that then takes the lease closes what it accepted)."""
    node = server_factory(secret=secret, wait=wait, rate_limit=100000, extra_args=[
        "--cluster", nats.url, "--node", name, "--cluster-lease", str(LEASE), *extra_args], **flags)
    deadline = time.monotonic() + 30
    while wait:
        try:
            cluster = healthz(node)[1]["cluster"]
        except (OSError, http.client.HTTPException):  # turning active, it closes what it served as a relay
            cluster = {"role": "relay"}
        if cluster["role"] == "active" or cluster.get("active") not in (None, name):
            break
        assert time.monotonic() < deadline, f"node {name} did not settle: {cluster}\n{node.log_tail()}"
        time.sleep(0.05)
    return node


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


async def test_every_node_lists_the_websocket_urls_of_all_nodes_in_v1_info(server_factory, nats):
    """What a client (the console) reconnects to when its node is gone."""
    nodes = three_nodes(server_factory, nats)
    expected = sorted(f"ws://127.0.0.1:{n.port}/ws" for n in nodes)
    for node in nodes:
        deadline = time.monotonic() + 10
        while True:
            status, _, body = http_get(node.http + "/v1/info")
            info = json.loads(body)
            if info.get("ws_urls") == expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert status == 200 and info["ws_urls"] == expected and info["protocol"] == 1, info


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


async def test_a_backlog_many_times_the_outbox_reaches_a_relayed_device_in_order_without_4008(server_factory, nats):
    """The active node paces the replay by what the relay reports of the connection (progress every 20 ms)."""
    # heartbeat 30: the reader lags the server by what the kernel's socket buffers hold (megabytes; the
    # server wrote them long ago), and its answer to a ping waits behind them; the keepalive must not be
    # what ends a slow reader here
    a, b, c = three_nodes(server_factory, nats, outbox_limit_bytes=65536, heartbeat=30)
    m = await a.login("mia", "msl")
    h = await c.login("harry", "hcp")
    room = await create_room(m, "group", ["harry"], title="backlog")
    await h.close()
    await pump(m, room, "back", [], count=3000)  # ~500-byte bodies, ~1.9 MB: 30 times the outbox limit
    # a slow reader with a small receive buffer, so the replay goes at its pace, not the kernel's
    h2 = await b.connect(label="t1/harry/dev1")
    h2.read_pause_every, h2.read_pause = 20, 0.005
    h2.ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    r = await h2.request("hello", 10, token=b.token("harry", "hcp"), device="dev1", client="liaison-e2e/1")
    assert r.get("type") == "ok", r
    await h2.next_event("synced", 60)
    at = next(i for i, f in enumerate(h2.frames) if isinstance(f, dict) and f.get("type") == "synced")
    msgs = [f for f in h2.frames[:at] if isinstance(f, dict) and f.get("type") == "msg"]
    assert [x["seq"] for x in msgs if x["room"] == room] == list(range(1, 3001))
    assert not h2.closed.is_set(), h2.close_code


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
    """The node among `nodes` whose /healthz says it is active, waited for; then until every other one
    says it relays to it (a relay that has not noticed the change yet would close what it accepts with 1012)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for node in nodes:
            try:
                status, body = healthz(node)
            except (OSError, http.client.HTTPException):  # a relay becoming active closes what it serves
                continue
            if status == 200 and body["cluster"]["role"] == "active":
                name = body["cluster"]["node"]
                while time.monotonic() < deadline:
                    if all(healthz(other)[1]["cluster"].get("active") == name for other in nodes if other is not node):
                        return node
                    time.sleep(0.05)
        time.sleep(0.05)
    raise AssertionError("no node became active:\n" + "\n".join(n.log_tail(20) for n in nodes))


async def send_until_closed(c, room: str, prefix: str, sent: list) -> None:
    """msg.send to `room` as fast as 32 unanswered requests allow, until the connection closes; each
    (request id, client_msg_id) is appended to `sent`."""
    i = 0
    try:
        while not c.closed.is_set():
            cmid = f"{prefix}-{i}"
            sent.append((await c.send("msg.send", room=room, body=f"{prefix} {i}", client_msg_id=cmid), cmid))
            i += 1
            while len(sent) - sum(1 for rid, _ in sent if rid in c.replies) >= 32 and not c.closed.is_set():
                await asyncio.sleep(0.001)
    except ConnectionClosed:
        return


async def test_killing_the_active_node_under_load_from_every_node_loses_no_acknowledged_message_and_another_serves_within_10_s(
    server_factory, nats,
):
    a, b, c = three_nodes(server_factory, nats, "k" * 32)
    senders = {"mia": b, "nina": c, "omar": a}  # two relayed to a, one on a itself
    await (await a.login("harry", "hcp")).close()  # known, and offline from now on
    clients, rooms, sent = {}, {}, {}
    for user, node in senders.items():
        clients[user] = await node.login(user, "msl")
        rooms[user] = await create_room(clients[user], "group", ["harry"], title=f"{user}'s room")
        sent[user] = []
    tasks = [asyncio.create_task(send_until_closed(clients[u], rooms[u], u, sent[u])) for u in senders]
    await asyncio.sleep(1.0)
    a.kill()
    killed = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*tasks), 15)
    assert clients["mia"].close_code in (1001, 1012) and clients["nina"].close_code in (1001, 1012)
    acked = {}
    for user in senders:
        replies = clients[user].replies
        assert all(replies[rid][0]["type"] == "ok" for rid, _ in sent[user] if rid in replies)
        acked[user] = {cmid: replies[rid][0]["seq"] for rid, cmid in sent[user] if rid in replies}
        assert len(acked[user]) > 20, f"{user}: only {len(acked[user])} acknowledged before the kill"

    active = wait_for_active([b, c])
    failover = time.monotonic() - killed
    assert failover < 10, f"{active.log_path} served {failover:.1f} s after the kill"
    relay = c if active is b else b

    # each sender resumes (through the relay, or on the active node) and sends again what had no answer
    for n, user in enumerate(senders):
        again = await (relay if n % 2 == 0 else active).login(user, "msl")
        for rid, cmid in sent[user]:
            r = await again.ok("msg.send", room=rooms[user], body=f"{user} {cmid.rsplit('-', 1)[1]}", client_msg_id=cmid)
            if cmid in acked[user]:
                assert r["seq"] == acked[user][cmid], f"{cmid} was acknowledged as {acked[user][cmid]}, now {r['seq']}"
            acked[user][cmid] = r["seq"]
        assert sorted(acked[user].values()) == list(range(1, len(sent[user]) + 1)), f"{user}: a gap or a duplicate"

    # harry, offline throughout, gets every message of every room once, in order
    h, msgs = await connect_replay(relay, "harry", "hcp")
    for user in senders:
        replayed = [(x["seq"], x["client_msg_id"]) for x in msgs if x["room"] == rooms[user]]
        assert replayed == sorted((seq, cmid) for cmid, seq in acked[user].items()), replayed[:5]
    total = sum(len(v) for v in sent.values())
    print(f"failover: a node was active {failover:.2f} s after the kill; {total} sent from three nodes, all present once")


def node_metric(node, name: str) -> float:
    status, _, body = http_get(node.http + "/metrics")
    assert status == 200, status
    return metric_sum(parse_prometheus(body.decode()), name) or 0


async def wait_for_checkpoints(node, timeout: float = 20.0) -> None:
    """Until `node` has made a checkpoint and makes no more (for five snapshot intervals of 0.2 s)."""
    deadline = time.monotonic() + timeout
    made, since = 0.0, time.monotonic()
    while made == 0 or time.monotonic() - since < 1:
        assert time.monotonic() < deadline, f"checkpoints did not settle:\n{node.log_tail(20)}"
        now = node_metric(node, "liaison_cluster_checkpoints_total")
        if now != made:
            made, since = now, time.monotonic()
        await asyncio.sleep(0.1)


async def test_a_node_that_takes_over_starts_from_the_last_checkpoint_and_replays_only_what_came_after(
    server_factory, nats,
):
    """With a checkpoint every 100 records the journal is compacted as the rooms grow: a node that takes over
    restores the checkpoint (the rooms' archives, MOD requests, meetings) and replays only the records after it;
    twice in a row, the second time from a checkpoint the node that took over made on top of what it restored."""
    checkpointing = ["--cluster-checkpoint-records", "100", "--snapshot-interval", "0.2"]
    a, b, c = three_nodes(server_factory, nats, extra_args=checkpointing)
    await (await a.login("harry", "hcp")).close()  # known, and offline from now on
    mia = await b.login("mia", "msl")
    room = await create_room(mia, "group", ["harry"], title="checkpointed")
    sent = [r["seq"] for r in await send_many(mia, room, 400, prefix="first")]
    hana = await c.login("hana", "hcp")
    req, _ = await mod_request(hana, "cardiology", "open across two takeovers?", ttl_s=300)
    await wait_for_checkpoints(a)

    for killed, survivors in ((a, [b, c]), (None, None)):
        if killed is None:  # the second round: the node that took over checkpoints, and dies in turn
            killed, survivors = active, [n for n in (a, b, c) if n not in (active, a)] + [
                start_node(server_factory, nats, "d", "c" * 32, extra_args=checkpointing)]
            mia = await survivors[0].login("mia", "msl")
            sent += [r["seq"] for r in await send_many(mia, room, 300, prefix="second")]
            await wait_for_checkpoints(killed)
        killed.kill()
        active = wait_for_active(survivors)
        replayed = node_metric(active, "liaison_cluster_takeover_records")
        assert 0 < replayed < 150, f"{active.log_path} replayed {replayed} records"
        h, msgs = await connect_replay(active, "harry", "hcp")
        assert [m["seq"] for m in msgs if m["room"] == room] == sent == list(range(1, len(sent) + 1))
        oldest = await h.ok("room.history", room=room, before=51, limit=50)  # from the restored archive
        assert [m["seq"] for m in oldest["messages"]] == list(range(1, 51)), oldest
        await h.close()

    fmds = [await node.login(f"fmd{i}", "fmd", areas=["cardiology"]) for i, node in enumerate(survivors * 2)]
    await gather_events(fmds, "mod.offer", request=req)
    replies = await claim_all(fmds, req)
    assert [r["type"] for r in replies].count("ok") == 1, replies


async def test_a_message_retention_erased_is_not_in_what_the_next_active_node_restores_or_replays(server_factory, nats):
    """Retention erases a body at a snapshot; the checkpoint after it replaces the extents that held it and
    purges the journal records that did: the node that takes over has the tombstone and the body nowhere."""
    flags = ["--retention-days", "0.00003", "--snapshot-interval", "0.2"]  # old after 2.6 s
    a, b = (start_node(server_factory, nats, name, "r" * 32, extra_args=flags) for name in ("a", "b"))
    await (await a.login("harry", "hcp")).close()
    m = await b.login("mia", "msl")
    room = await create_room(m, "group", ["harry"], title="retained")
    secret = "the body retention erases " + "x" * 40
    await m.ok("msg.send", room=room, body=secret, client_msg_id="old")
    deadline = time.monotonic() + 20
    while (await m.ok("room.history", room=room))["messages"][0].get("kind") != "erased":
        assert time.monotonic() < deadline, "not erased"
        await asyncio.sleep(0.2)
    await wait_for_checkpoints(a)
    a.kill()
    active = wait_for_active([b])
    assert node_metric(active, "liaison_cluster_takeover_records") > 0
    h, msgs = await connect_replay(active, "harry", "hcp")
    assert [(x["seq"], x.get("kind"), "body" in x) for x in msgs] == [(1, "erased", False)], msgs
    data = Path(active.data_dir)
    assert [p for p in data.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()] == []


async def test_the_users_of_a_relaying_node_that_dies_go_offline_and_come_back_on_another(server_factory, nats):
    a, b, c = three_nodes(server_factory, nats)
    w = await b.login("wanda", "msl")
    await c.login("harry", "hcp")
    r = await w.ok("presence.watch", users=["harry"])
    assert [p["status"] for p in r["presence"]] == ["online"], r
    c.kill()  # its sessions end once the active node has not heard from it for 3 s, then the grace
    await w.next_event("presence", 15, user="harry", status="offline")
    await a.login("harry", "hcp")
    await w.next_event("presence", 10, user="harry", status="online")


async def test_a_relaying_node_silent_past_the_timeout_closes_its_connections_with_1012_when_it_wakes(server_factory, nats):
    """The active node ended the sessions of a relay it did not hear from for 3 s: when the relay wakes, its
    connections, which no longer have a session, are told to reconnect (they would otherwise go nowhere)."""
    a, b, c = three_nodes(server_factory, nats)
    w = await a.login("wanda", "msl")
    h = await b.login("harry", "hcp")
    r = await w.ok("presence.watch", users=["harry"])
    assert [p["status"] for p in r["presence"]] == ["online"], r
    b.process.send_signal(signal.SIGSTOP)
    try:
        await w.next_event("presence", 15, user="harry", status="offline")
    finally:
        b.process.send_signal(signal.SIGCONT)
    await h.wait_closed(10)
    assert h.close_code == 1012, h.close_code
    h2 = await b.login("harry", "hcp", device="dev2")  # reconnecting to the same node works
    await w.next_event("presence", 10, user="harry", status="online")
    assert (await h2.ok("presence.watch", users=["wanda"]))["presence"][0]["status"] == "online"


async def test_an_open_mod_request_is_claimed_exactly_once_after_the_active_node_dies(server_factory, nats):
    a, b, c = three_nodes(server_factory, nats)
    hcp = await b.login("hana", "hcp")
    req, offered = await mod_request(hcp, "cardiology", "still open after a failover?", ttl_s=120)
    assert offered == 0, offered  # no FMD online yet
    a.kill()
    active = wait_for_active([b, c])
    relay = c if active is b else b
    fmds = [await node.login(f"fmd{i}", "fmd", areas=["cardiology"]) for i, node in enumerate([active, relay] * 3)]
    await gather_events(fmds, "mod.offer", request=req)  # the late joiners get the open request before synced
    replies = await claim_all(fmds, req)
    assert [r["type"] for r in replies].count("ok") == 1, replies
    assert sorted(r.get("code") for r in replies if r["type"] == "error") == ["already_claimed"] * 5, replies


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
    # four downloads at once of bytes the new active node does not have: one fetch from the cluster's copy
    answers = await asyncio.gather(*(asyncio.to_thread(download, active, active.token("hana", "hcp"), info["file"])
                                     for _ in range(4)))
    assert [(status, body == data) for status, _, body in answers] == [(200, True)] * 4, [a[0] for a in answers]
    status, _, metrics = http_get(active.http + "/metrics")
    assert metric_sum(parse_prometheus(metrics.decode()), "liaison_files_fetched_from_cluster_total") == 1
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


async def test_the_audit_trail_and_the_interaction_record_continue_on_the_node_that_takes_over(server_factory, nats):
    """The active node's audit records are kept in JetStream too: the node that takes over starts its trail
    from them and continues the same hash chain, so `liaison audit verify` and the export cover both nodes."""
    a = start_node(server_factory, nats, "a", "t" * 32)
    b = start_node(server_factory, nats, "b", "t" * 32)
    m = await b.login("mia", "msl")
    await (await b.login("harry", "hcp")).close()
    room = await create_room(m, "group", ["harry"], title="audited")
    for i in range(3):
        await m.ok("msg.send", room=room, body=f"before {i}", client_msg_id=f"before-{i}")
    await wait_audited(a, lambda rs: sum(r["action"] == "msg.send" for r in rs) == 3, "a's three messages")
    await asyncio.sleep(0.5)  # a's writer hands its last batch to JetStream
    a.kill()
    assert wait_for_active([b]) is b
    m2 = await b.login("mia", "msl")
    for i in range(2):
        await m2.ok("msg.send", room=room, body=f"after {i}", client_msg_id=f"after-{i}")
    records = await wait_audited(b, lambda rs: sum(r["action"] == "msg.send" for r in rs) == 5, "all five messages")
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    verify = await asyncio.to_thread(run_cli, "audit", "verify", str(b.audit_log))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    status, _, body = await asyncio.to_thread(http_export, b, b.token("root", "admin"))
    assert status == 200, body
    rows = [json.loads(line) for line in body.decode().splitlines()]
    chat = [row["body"] for row in rows if row["kind"] == "message" and row["room"] == room]
    assert chat == [f"before {i}" for i in range(3)] + [f"after {i}" for i in range(2)], chat


async def test_meetings_and_push_work_across_nodes_and_outlive_the_active_node(server_factory, nats, gateway):
    flags = ["--push-gateway", f"main={gateway.url}", "--push-delay", "0.5"]
    a, b, c = (start_node(server_factory, nats, name, "m" * 32, extra_args=flags) for name in ("a", "b", "c"))
    await offline_with_pusher(c, "hana", "hcp", "k-hana")  # registered through a relay, then gone
    org = await b.login("olga", "msl", name="Dr Olga Berg")
    created = await schedule(org, ["hana"])
    await gateway.wait_for(1, "liaison.meeting")
    a.kill()
    active = wait_for_active([b, c])
    relay = c if active is b else b
    org2 = await relay.login("olga", "msl", device="tablet")
    got = await org2.ok("meeting.get", meeting=created["meeting"])
    assert got["title"] == "Dosing review" and [a["user"] for a in got["attendees"]] == ["olga", "hana"], got
    await org2.ok("msg.send", room=created["room"], body="see you there", client_msg_id="m-1")
    [pushed] = await gateway.wait_for(1, "liaison.msg")
    assert pushed["devices"][0]["pushkey"] == "k-hana" and "see you there" not in json.dumps(pushed), pushed
    url = (await org2.ok("meeting.feed"))["url"]
    assert url.startswith(active.http + "/v1/calendar/"), url  # the node that serves it now
    status, headers, body = await asyncio.to_thread(http_get, url)
    assert status == 200 and f"{created['meeting']}@liaison".encode() in body, (status, body[:200])


async def test_a_node_that_loses_the_bus_under_traffic_never_says_a_false_ok_and_recovers(server_factory, nats):
    a = start_node(server_factory, nats, "a", "u" * 32)
    m = await a.login("mia", "msl")
    await a.login("harry", "hcp")
    room = await create_room(m, "group", ["harry"], title="bus")
    replies: list[tuple[str, dict]] = []
    stop = asyncio.Event()

    async def sender():  # one request at a time, until told to stop
        i = 0
        while not stop.is_set():
            cmid = f"b-{i}"
            replies.append((cmid, await m.request("msg.send", 30, room=room, body=f"bus {i}", client_msg_id=cmid)))
            i += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(sender())
    await asyncio.sleep(0.5)
    nats.stop()
    deadline = time.monotonic() + 10
    while healthz(a)[0] != 503 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    status, body = healthz(a)
    assert status == 503 and body["status"] == "degraded" and body["cluster"]["bus"] == "lost", body
    deadline = time.monotonic() + 10
    while not any(r.get("code") == "unavailable" for _, r in replies) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    listed = await m.ok("room.list")  # what needs no journal still works
    assert any(r["room"] == room for r in listed["rooms"]), listed

    nats.start()
    deadline = time.monotonic() + 15
    while healthz(a)[0] != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert healthz(a)[0] == 200, a.log_tail()
    await asyncio.sleep(1.0)  # traffic again after the bus is back
    stop.set()
    await asyncio.wait_for(task, 30)

    kinds = {r["type"] for _, r in replies}
    assert kinds <= {"ok", "error"} and {r["code"] for _, r in replies if r["type"] == "error"} == {"unavailable"}, kinds
    oks = {cmid: r["seq"] for cmid, r in replies if r["type"] == "ok"}
    refused = [cmid for cmid, r in replies if r["type"] == "error"]
    assert refused and replies[-1][1]["type"] == "ok", "no request was refused during the outage, or none ok after it"
    assert sorted(oks.values()) == list(range(1, len(oks) + 1)), "a refused request took a seq"
    h, msgs = await connect_replay(a, "harry", "hcp", device="dev2")
    assert [(x["seq"], x["client_msg_id"]) for x in msgs if x["room"] == room] == sorted((s, c) for c, s in oks.items())


async def test_on_a_three_server_nats_cluster_with_three_replicas_losing_a_nats_server_and_then_the_active_node_loses_nothing(
    server_factory, tmp_path,
):
    bus = NATSCluster(tmp_path)
    try:
        nodes = []
        for name in ("a", "b"):
            deadline = time.monotonic() + 30
            while True:  # JetStream needs its three servers to elect a leader before a stream can be made
                # a longer lease: while the lost server's streams elect new leaders (seconds), the active node
                # cannot renew, and the lease must outlast that
                node = server_factory(secret="r" * 32, wait=False, rate_limit=100000, extra_args=[
                    "--cluster", bus.url, "--node", name, "--cluster-lease", str(2 * LEASE), "--cluster-replicas", "3"])
                try:
                    node.wait_healthy(30)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, node.log_tail()
                    time.sleep(1)
            nodes.append(node)
        a, b = nodes
        m = await b.login("mia", "msl")
        await (await b.login("harry", "hcp")).close()
        room = await create_room(m, "group", ["harry"], title="r3")
        oks = await send_many(m, room, 50, prefix="one")
        bus.servers[0].stop()  # one NATS server of three: the streams keep a quorum
        for i in range(50):
            while True:
                try:
                    r = await m.request("msg.send", 30, room=room, body=f"two body {i}", client_msg_id=f"two-{i}")
                    if r["type"] == "error":  # while the node moves to another NATS server
                        assert r["code"] == "unavailable", r
                        continue
                    break
                except AssertionError:
                    # A relay whose NATS server was the one lost can be silent past the relay timeout while it
                    # reconnects: the active node ends its sessions and the relay closes them with 1012. The
                    # client does what clients are told to: reconnect, and send again what had no answer.
                    assert m.close_code == 1012, m.close_code
                    m = await b.login("mia", "msl")
            oks.append(r)
        assert [o["seq"] for o in oks] == list(range(1, 101))
        a.kill()
        assert wait_for_active([b]) is b
        h, msgs = await connect_replay(b, "harry", "hcp")
        assert [x["seq"] for x in msgs if x["room"] == room] == list(range(1, 101))
    finally:
        stop_nodes_then(bus, server_factory)


@pytest.mark.parametrize("args, says", [
    (["--cluster", "http://127.0.0.1:4222"], "--cluster must be NATS URLs"),
    (["--cluster", "nats://127.0.0.1:4222,redis://x"], "--cluster must be NATS URLs"),
    (["--node", "a.b"], "--node must be 1 to 64 letters"),
    (["--node", "n" * 65], "--node must be 1 to 64 letters"),
    (["--cluster-lease", "0.4"], "--cluster-lease must be at least 0.5 seconds"),
    (["--cluster-replicas", "2"], "--cluster-replicas must be 1, 3 or 5"),
    (["--cluster-checkpoint-records", "0"], "--cluster-checkpoint-records must be at least 1"),
])
def test_bad_cluster_flags_stop_the_server_with_a_clear_message(tmp_path, args, says):
    flags = {"--cluster": "nats://127.0.0.1:1", "--node": "a"}
    flags.update(dict(zip(args[::2], args[1::2])))
    p = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--jwt-secret", "s" * 32,
                *[x for kv in flags.items() for x in kv])
    assert p.returncode != 0 and says in p.stdout + p.stderr, p.stdout + p.stderr


def test_a_node_that_cannot_reach_nats_at_start_says_so_and_exits(tmp_path):
    p = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--jwt-secret", "s" * 32,
                "--cluster", f"nats://127.0.0.1:{free_port()}", "--node", "a")
    assert p.returncode != 0 and "connect to nats://127.0.0.1:" in p.stdout + p.stderr, p.stdout + p.stderr
