"""HTTP endpoints on the WebSocket port."""

import asyncio
import json

from liaison_helpers import metric_sum, parse_prometheus


async def test_healthz_is_200_json_with_connections_and_uptime(server):
    c = await server.login("u1", "msl")
    status, headers, body = await asyncio.to_thread(server.get, "/healthz")
    assert status == 200, (status, body)
    assert "json" in headers.get("content-type", ""), headers
    doc = json.loads(body)
    assert "connections" in doc and "uptime" in doc, doc
    assert isinstance(doc["connections"], int) and doc["connections"] >= 1, doc
    assert isinstance(doc["uptime"], (int, float)) and doc["uptime"] >= 0, doc
    assert c.is_open


async def test_metrics_is_prometheus_text_with_connections_and_frame_counters(server):
    c = await server.login("u1", "msl")
    await c.ok("presence.set", status="online")
    await c.send_raw("{not json")
    await c.next_event("error")
    status, headers, body = await asyncio.to_thread(server.get, "/metrics")
    assert status == 200, (status, body)
    assert headers.get("content-type", "").startswith("text/plain"), headers
    text = body.decode()
    for name in ("liaison_connections", "liaison_frames_in_total", "liaison_frames_out_total"):
        assert name in text, f"{name} missing from /metrics:\n{text[:2000]}"
    samples = parse_prometheus(text)
    assert samples, f"no parsable samples:\n{text[:2000]}"
    conns = metric_sum(samples, "liaison_connections")
    assert conns is not None and conns >= 1, f"liaison_connections={conns}"
    fin = metric_sum(samples, "liaison_frames_in_total")
    fout = metric_sum(samples, "liaison_frames_out_total")
    assert fin is not None and fin >= 3, f"liaison_frames_in_total={fin} after hello + 2 frames"
    assert fout is not None and fout >= 3, f"liaison_frames_out_total={fout} after ok, synced, ok, error"
    assert c.is_open


def histogram_count(samples: dict[str, float], name: str, **labels: str) -> float:
    """The `_count` of histogram `name` with exactly these labels (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for key, value in samples.items():
        if not key.startswith(name + "_count"):
            continue
        body = key[len(name + "_count"):].strip("{}")
        if ",".join(sorted(body.split(","))) == want or (not want and not body):
            return value
    return 0.0


async def test_metrics_time_requests_by_type_fanout_journal_syncs_and_audit_batches(server):
    a = await server.login("u1", "msl")
    b = await server.login("u2", "msl")
    room = (await a.ok("room.create", kind="group", members=["u2"]))["room"]
    for i in range(3):
        await a.ok("msg.send", room=room, body=f"m{i}")
        await b.next_event("msg")
    await a.ok("presence.set", status="away")
    err = await a.request("msg.send", room="nope", body="x")
    assert err["type"] == "error", err
    await asyncio.sleep(0.2)  # the audit writer's batch and the last fan-out write
    _, _, body = await asyncio.to_thread(server.get, "/metrics")
    samples = parse_prometheus(body.decode())
    # Every answered request is timed under its type, refusals included; hello too.
    assert histogram_count(samples, "liaison_request_duration_seconds", type="msg.send") == 4, body.decode()[:3000]
    assert histogram_count(samples, "liaison_request_duration_seconds", type="presence.set") == 1
    assert histogram_count(samples, "liaison_request_duration_seconds", type="hello") >= 2
    assert histogram_count(samples, "liaison_request_duration_seconds", type="room.create") == 1
    # Buckets start below a millisecond.
    assert any(k.startswith("liaison_request_duration_seconds_bucket") and 'le="0.0001"' in k for k in samples), \
        [k for k in samples if k.startswith("liaison_request_duration_seconds_bucket")][:5]
    # Each msg went to b (one fan-out each) and was written; room.member events too.
    assert histogram_count(samples, "liaison_fanout_duration_seconds") >= 3
    assert histogram_count(samples, "liaison_journal_fsync_seconds") >= 1
    assert histogram_count(samples, "liaison_journal_batch_records") >= 1
    assert histogram_count(samples, "liaison_audit_batch_records") >= 1


async def test_info_tells_clients_whether_dev_tokens_are_on(server_factory):
    plain = server_factory()
    status, headers, body = await asyncio.to_thread(plain.get, "/v1/info")
    assert status == 200 and "json" in headers.get("content-type", ""), (status, headers)
    assert json.loads(body) == {"protocol": 1, "dev": False, "ws_path": "/ws"}
    dev = server_factory(dev=True)
    status, _, body = await asyncio.to_thread(dev.get, "/v1/info")
    assert status == 200 and json.loads(body)["dev"] is True, body
