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
