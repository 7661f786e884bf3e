"""Cluster mode on a real `nats-server -js`: one node is active (it holds the lease and writes the journal in
JetStream), the others wait as standbys; when the active node dies, a standby takes over from the journal
with nothing acknowledged lost or duplicated."""

import asyncio
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from liaison_helpers import connect_replay, create_room, http_get, send_many

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


def start_node(server_factory, nats: NATS, name: str, secret: str, *, wait: bool = True, **flags):
    return server_factory(secret=secret, wait=wait, rate_limit=100000, extra_args=[
        "--cluster", nats.url, "--node", name, "--cluster-lease", str(LEASE)], **flags)


def healthz(node) -> tuple[int, dict]:
    status, _, body = http_get(node.http + "/healthz")
    return status, json.loads(body)


async def test_the_first_node_is_active_and_a_second_waits_as_standby(server_factory, nats):
    a = start_node(server_factory, nats, "a", "s" * 32)
    b = start_node(server_factory, nats, "b", "s" * 32, wait=False)
    status, body = healthz(a)
    assert status == 200 and body["status"] == "ok" and body["cluster"] == {"node": "a", "bus": "connected"}, body
    await asyncio.sleep(3 * LEASE)
    assert b.process.poll() is None, b.log_tail()
    assert b.port is None and not b._read_port(), f"the standby serves while a holds the lease:\n{b.log_tail()}"
    assert "held by a" in b.log_tail(), b.log_tail()


async def test_killing_the_active_node_under_load_loses_no_acknowledged_message_and_a_standby_serves_within_the_lease(
    server_factory, nats,
):
    secret = "k" * 32
    a = start_node(server_factory, nats, "a", secret)
    b = start_node(server_factory, nats, "b", secret, wait=False)
    m = await a.login("mia", "msl")
    await a.login("harry", "hcp")
    await (await a.connect()).close()
    room = await create_room(m, "group", ["harry"], title="failover")
    h = next(c for c in server_factory.clients if c.label.startswith("t1/harry"))
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
                    await asyncio.sleep(0.001)
        except ConnectionClosed:
            return

    task = asyncio.create_task(sender())
    await asyncio.sleep(1.0)
    a.kill()
    killed = time.monotonic()
    await asyncio.wait_for(task, 10)
    acked = {cmid: m.replies[rid][0]["seq"] for rid, cmid in sent if rid in m.replies}
    assert all(m.replies[rid][0]["type"] == "ok" for rid, _ in sent if rid in m.replies)
    assert len(acked) > 50, f"only {len(acked)} acknowledged before the kill"

    b.wait_healthy(30)
    failover = time.monotonic() - killed
    assert failover < 10, f"b served {failover:.1f} s after the kill"

    # mia resumes on b and sends again everything she has no answer for: stored ones keep their seq
    m2 = await b.login("mia", "msl", device="dev1")
    for rid, cmid in sent:
        r = await m2.ok("msg.send", room=room, body=f"failover {cmid[2:]}", client_msg_id=cmid)
        if cmid in acked:
            assert r["seq"] == acked[cmid], f"{cmid} was acknowledged as {acked[cmid]}, b says {r['seq']}"
        acked[cmid] = r["seq"]
    assert sorted(acked.values()) == list(range(1, len(sent) + 1)), "seqs have a gap or a duplicate"

    # harry, offline throughout, gets every message once, in order, from b
    h2, msgs = await connect_replay(b, "harry", "hcp")
    replayed = [(x["seq"], x["client_msg_id"]) for x in msgs if x["room"] == room]
    assert replayed == sorted((seq, cmid) for cmid, seq in acked.items()), replayed[:5]
    print(f"failover: b served {failover:.2f} s after the kill; {len(sent)} sent, all present once")


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
