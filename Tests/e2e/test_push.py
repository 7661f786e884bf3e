"""Push notifications to devices that are not connected, through a local Matrix Push Gateway.

The gateway here records every POST to /_matrix/push/v1/notify and answers as each test tells it
(200, `rejected` pushkeys, 500 then 200, or hanging). The server runs with a short coalescing delay.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from liaison_helpers import metric_sum, parse_prometheus, send_msg

DELAY = 0.5  # --push-delay
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
APP = "com.example.liaison"


class Gateway:
    """A push gateway on loopback: records notifications, answers from a script, else 200."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.paths: list[str] = []
        self.answers: list[tuple[int, dict]] = []  # consumed first, then 200 {"rejected": []}
        self.rejected: set[str] = set()
        self.hang = threading.Event()  # set: every request waits until released
        self.released = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if gateway.hang.is_set():
                    gateway.released.wait(30)
                gateway.paths.append(self.path)
                gateway.received.append(body)
                status, answer = gateway.answers.pop(0) if gateway.answers else (200, {})
                if status == 200:
                    pushkeys = {d["pushkey"] for d in body["notification"]["devices"]}
                    answer = {"rejected": sorted(pushkeys & gateway.rejected)}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def notifications(self, type_: str | None = None) -> list[dict]:
        return [b["notification"] for b in self.received if type_ is None or b["notification"]["type"] == type_]

    async def wait_for(self, count: int, type_: str | None = None, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.notifications(type_)) >= count:
                return self.notifications(type_)
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} {type_ or ''} notifications, got {self.notifications(type_)}")

    async def none_within(self, seconds: float, type_: str | None = None) -> None:
        await asyncio.sleep(seconds)
        assert not self.notifications(type_), self.notifications(type_)

    def close(self) -> None:
        self.released.set()
        self.http.shutdown()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.close()


@pytest.fixture
def push_server(server_factory, gateway):
    return server_factory(extra_args=["--push-gateway", f"main={gateway.url}", "--push-delay", str(DELAY)])


async def offline_with_pusher(server, user: str, role: str, pushkey: str, device: str = "phone", **login) -> None:
    """`user` registers a pusher on `device`, then that device disconnects."""
    phone = await server.login(user, role, device=device, **login)
    await phone.ok("push.register", gateway="main", app_id=APP, pushkey=pushkey, device_name="Phone", lang="en")
    await phone.close()


async def direct_room(a, b: str) -> str:
    return (await a.ok("room.create", kind="direct", members=[b]))["room"]


def no_phi(notification: dict, *texts: str) -> None:
    blob = json.dumps(notification)
    for text in texts:
        assert text not in blob, f"{text!r} leaked into {blob}"
    assert "content" not in notification and "sender_display_name" not in notification, notification


# ---- registration


async def test_register_list_and_unregister_pushers_of_the_callers_devices(push_server):
    c = await push_server.login("ana", "hcp", device="phone")
    await c.ok("push.register", gateway="main", app_id=APP, pushkey="k-ana", device_name="Ana's phone", lang="en")
    other = await push_server.login("ana", "hcp", device="tablet")
    await other.ok("push.register", gateway="main", app_id=APP, pushkey="k-ana-tab")
    listed = (await c.ok("push.list"))["pushers"]
    assert [(p["device"], p["pushkey"], p["device_name"], p["lang"], p["gateway"]) for p in listed] == [
        ("phone", "k-ana", "Ana's phone", "en", "main"), ("tablet", "k-ana-tab", None, None, "main")], listed
    assert all(isinstance(p["pushkey_ts"], int) and p["pushkey_ts"] > 1_700_000_000 for p in listed), listed
    await c.ok("push.unregister", app_id=APP, pushkey="k-ana-tab")
    assert [p["pushkey"] for p in (await other.ok("push.list"))["pushers"]] == ["k-ana"]


async def test_a_pushkey_registered_by_someone_else_moves_to_them(push_server):
    ana = await push_server.login("ana", "hcp", device="phone")
    await ana.ok("push.register", gateway="main", app_id=APP, pushkey="shared-device")
    ben = await push_server.login("ben", "msl", device="phone")
    await ben.ok("push.register", gateway="main", app_id=APP, pushkey="shared-device")
    assert (await ana.ok("push.list"))["pushers"] == []
    assert [p["pushkey"] for p in (await ben.ok("push.list"))["pushers"]] == ["shared-device"]
    # Ana can no longer remove it.
    r = await ana.request("push.unregister", app_id=APP, pushkey="shared-device")
    assert r["code"] == "not_found" and r["message"] == "no pusher with that app_id and pushkey", r


async def test_pushers_survive_a_restart(server_factory, gateway):
    srv = server_factory(extra_args=["--push-gateway", f"main={gateway.url}"])
    c = await srv.login("ana", "hcp", device="phone")
    await c.ok("push.register", gateway="main", app_id=APP, pushkey="k-durable")
    await c.close()
    srv.stop(5)
    again = server_factory.restart(srv)
    c = await again.login("ana", "hcp", device="phone")
    assert [p["pushkey"] for p in (await c.ok("push.list"))["pushers"]] == ["k-durable"]


async def test_unknown_gateway_oversized_pushkey_and_too_many_pushers_are_refused_and_change_nothing(push_server):
    c = await push_server.login("ana", "hcp", device="phone")
    r = await c.request("push.register", gateway="https://evil.example", app_id=APP, pushkey="k")
    assert r["code"] == "not_found" and r["message"] == "no push gateway named 'https://evil.example'", r
    r = await c.reply(await c.send("push.register", malformed=True, gateway="main", app_id=APP, pushkey="k" * 513))
    assert r["code"] == "too_large" and r["message"] == "field 'pushkey' must be at most 512 bytes", r
    r = await c.reply(await c.send("push.register", malformed=True, gateway="main", app_id="", pushkey="k"))
    assert r["code"] == "bad_request" and r["message"] == "field 'app_id' must be 1 to 64 characters", r
    for n in range(10):
        await c.ok("push.register", gateway="main", app_id=APP, pushkey=f"k{n}")
    r = await c.request("push.register", gateway="main", app_id=APP, pushkey="k10")
    assert r["code"] == "too_large", r
    assert r["message"] == "device 'phone' already has 10 pushers, the most allowed; unregister one first", r
    # Registering one it already has is an update, not an eleventh.
    await c.ok("push.register", gateway="main", app_id=APP, pushkey="k3", lang="fr")
    listed = (await c.ok("push.list"))["pushers"]
    assert len(listed) == 10 and "k10" not in {p["pushkey"] for p in listed}, listed
    assert c.is_open


async def test_a_100_kb_pushkey_exceeds_the_frame_limit_and_closes_1009(push_server):
    c = await push_server.login("ana", "hcp", device="phone")
    await c.send("push.register", malformed=True, gateway="main", app_id=APP, pushkey="k" * 100_000)
    assert await c.wait_closed() == 1009


async def test_register_without_any_gateway_configured_is_not_found(server):
    c = await server.login("ana", "hcp", device="phone")
    r = await c.request("push.register", gateway="main", app_id=APP, pushkey="k")
    assert r["code"] == "not_found", r
    assert r["message"] == "no push gateway is configured (liaison serve --push-gateway NAME=URL)", r


# ---- messages


async def test_an_offline_device_gets_one_notification_for_a_message_without_its_body(push_server, gateway):
    msl = await push_server.login("mika", "msl", name="Mika Laine")
    await push_server.login("hana", "hcp", device="laptop")  # known to the directory, then gone
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana")
    room = await direct_room(msl, "hana")
    sent = await send_msg(msl, room, "Dosage question about patient X")
    [n] = await gateway.wait_for(1, "liaison.msg")
    assert n["event_id"] == f"{room}:{sent['seq']}" and n["room_id"] == room and n["sender"] == "mika", n
    assert n["prio"] == "low" and n["counts"]["unread"] == 1, n
    assert n["devices"] == [{"app_id": APP, "pushkey": "k-hana", "pushkey_ts": n["devices"][0]["pushkey_ts"], "data": {}}], n
    no_phi(n, "Dosage", "patient X", "Mika Laine")
    assert gateway.paths == ["/_matrix/push/v1/notify"]
    await gateway.none_within(DELAY + 0.5, "liaison.mod.offer")
    assert len(gateway.notifications("liaison.msg")) == 1


async def test_five_quick_messages_coalesce_into_one_notification_with_unread_5(push_server, gateway):
    msl = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana")
    room = await direct_room(msl, "hana")
    for n in range(5):
        await send_msg(msl, room, f"message {n}")
    [n] = await gateway.wait_for(1, "liaison.msg")
    assert n["counts"]["unread"] == 5, n
    await asyncio.sleep(DELAY + 0.5)
    assert len(gateway.notifications("liaison.msg")) == 1, gateway.notifications()


async def test_no_notification_once_the_device_connects_before_the_delay(push_server, gateway):
    msl = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana")
    room = await direct_room(msl, "hana")
    await send_msg(msl, room, "hello")
    await push_server.login("hana", "hcp", device="phone")
    await gateway.none_within(DELAY + 1)


async def test_no_notification_when_another_device_read_it_meanwhile(push_server, gateway):
    msl = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana")
    laptop = await push_server.login("hana", "hcp", device="laptop")
    room = await direct_room(msl, "hana")
    sent = await send_msg(msl, room, "hello")
    await laptop.ok("msg.read", room=room, seq=sent["seq"])
    await gateway.none_within(DELAY + 1)


async def test_push_content_full_carries_the_body_and_the_senders_name(server_factory, gateway):
    srv = server_factory(extra_args=["--push-gateway", f"main={gateway.url}", "--push-delay", "0.2",
                                     "--push-content", "full"])
    msl = await srv.login("mika", "msl", name="Mika Laine")
    await offline_with_pusher(srv, "hana", "hcp", "k-hana")
    await send_msg(msl, await direct_room(msl, "hana"), "see you at 3")
    [n] = await gateway.wait_for(1, "liaison.msg")
    assert n["content"] == {"body": "see you at 3"} and n["sender_display_name"] == "Mika Laine", n


# ---- MOD offers and calls


async def test_an_offline_fmd_of_the_area_gets_a_high_priority_offer_and_a_dnd_one_does_not(push_server, gateway):
    await offline_with_pusher(push_server, "fmd1", "fmd", "k-fmd1", areas=["cardiology"])
    dnd = await push_server.login("fmd2", "fmd", device="phone", areas=["cardiology"])
    await dnd.ok("push.register", gateway="main", app_id=APP, pushkey="k-fmd2")
    await dnd.ok("presence.set", status="dnd")
    await dnd.close()
    await offline_with_pusher(push_server, "fmd3", "fmd", "k-fmd3", areas=["oncology"])
    hcp = await push_server.login("ana", "hcp")
    req = (await hcp.ok("mod.request", area="cardiology", question="Max dose of drug Y in renal failure?", mode="chat"))["request"]
    [n] = await gateway.wait_for(1, "liaison.mod.offer")
    assert n["event_id"] == req and n["prio"] == "high" and n["sender"] == "ana", n
    assert [d["pushkey"] for d in n["devices"]] == ["k-fmd1"], n
    assert "room_id" not in n, n
    no_phi(n, "drug Y", "renal")
    await gateway.none_within(1, "liaison.msg")
    assert len(gateway.notifications("liaison.mod.offer")) == 1


async def test_a_disconnected_device_of_the_callee_is_woken_for_call_ring(push_server, gateway):
    caller = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana-phone")
    laptop = await push_server.login("hana", "hcp", device="laptop")
    await laptop.ok("push.register", gateway="main", app_id=APP, pushkey="k-hana-laptop")
    room = await direct_room(caller, "hana")
    call = (await caller.ok("call.invite", room=room, media="video", sdp=SDP))["call"]
    await laptop.next_event("call.ring", call=call)
    [n] = await gateway.wait_for(1, "liaison.call.ring")
    assert n["event_id"] == call and n["room_id"] == room and n["prio"] == "high" and n["sender"] == "mika", n
    assert [d["pushkey"] for d in n["devices"]] == ["k-hana-phone"], n


# ---- gateway answers


async def test_a_rejected_pushkey_is_deleted(push_server, gateway):
    gateway.rejected.add("k-dead")
    msl = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-dead")
    await send_msg(msl, await direct_room(msl, "hana"), "hello")
    await gateway.wait_for(1, "liaison.msg")
    phone = await push_server.login("hana", "hcp", device="tablet")
    for _ in range(50):
        if not (await phone.ok("push.list"))["pushers"]:
            break
        await asyncio.sleep(0.1)
    assert (await phone.ok("push.list"))["pushers"] == []
    samples = parse_prometheus((await asyncio.to_thread(push_server.get, "/metrics"))[2].decode())
    assert metric_sum(samples, "liaison_push_rejected_total") == 1


async def test_a_gateway_answering_500_then_200_gets_the_retry(push_server, gateway):
    gateway.answers = [(500, {"error": "try later"})]
    msl = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana")
    await send_msg(msl, await direct_room(msl, "hana"), "hello")
    first, second = await gateway.wait_for(2, "liaison.msg", timeout=15)
    assert first == second, (first, second)
    samples = parse_prometheus((await asyncio.to_thread(push_server.get, "/metrics"))[2].decode())
    assert metric_sum(samples, "liaison_push_retried_total") == 1
    assert metric_sum(samples, "liaison_push_sent_total") == 1
    assert metric_sum(samples, "liaison_push_failed_total") == 1


async def test_a_hanging_gateway_delays_nothing_else(push_server, gateway):
    gateway.hang.set()
    msl = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana")
    room = await direct_room(msl, "hana")
    for n in range(3):
        await send_msg(msl, room, f"to the offline phone {n}")
    await asyncio.sleep(DELAY + 0.3)  # the notification is now stuck in the gateway
    ben = await push_server.login("ben", "hcp")
    chat = await direct_room(msl, "ben")
    started = time.monotonic()
    for n in range(20):
        await send_msg(msl, chat, f"live {n}")
        await ben.next_event("msg", room=chat)
    assert time.monotonic() - started < 5, "chat waited on the hanging gateway"
    assert gateway.received == []
    gateway.released.set()
    await gateway.wait_for(1, "liaison.msg")


async def test_a_call_that_rang_an_offline_device_unanswered_counts_as_missed_until_they_connect(push_server, gateway):
    caller = await push_server.login("mika", "msl")
    await offline_with_pusher(push_server, "hana", "hcp", "k-hana")
    room = await direct_room(caller, "hana")
    call = (await caller.ok("call.invite", room=room, media="audio", sdp=SDP))["call"]
    [ring] = await gateway.wait_for(1, "liaison.call.ring")
    assert ring["counts"]["missed_calls"] == 0, ring
    await caller.ok("call.hangup", call=call)
    await send_msg(caller, room, "sorry I missed you")
    [n] = await gateway.wait_for(1, "liaison.msg")
    assert n["counts"]["missed_calls"] == 1, n
    # Once a device of theirs connects, the missed call has been seen.
    phone = await push_server.login("hana", "hcp", device="phone")
    await phone.close()
    await send_msg(caller, room, "call me back")
    later = (await gateway.wait_for(2, "liaison.msg"))[-1]
    assert later["counts"]["missed_calls"] == 0, later
