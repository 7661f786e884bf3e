"""The machine-readable protocol: docs/schema (JSON Schema draft 2020-12) and docs/asyncapi.yaml
(AsyncAPI 3.0) are valid and complete, generate a working typed client model, agree with the
server, and are what the server serves. (Every frame of the other tests is checked against the
schema too: see `Client` in liaison_helpers.py.)"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import subprocess
import sys
from types import SimpleNamespace

import pydantic
import pytest
import yaml
from jsonschema import Draft202012Validator

from liaison_helpers import REPO_ROOT, create_room
from protocol_schema import SCHEMA_DIR, ProtocolSchema, protocol_schema

ASYNCAPI = REPO_ROOT / "docs" / "asyncapi.yaml"
SCHEMA_BASE = "https://liaison.example/schema/v1/"
PAYLOAD_FORMAT = "application/schema+json;version=draft-2020-12"


def refs(node) -> list[str]:
    """Every `$ref` value in a JSON/YAML document."""
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def pointer(document, fragment: str):
    """The value at JSON pointer `fragment` (`/a/b`, or empty for the whole document)."""
    for token in [t for t in fragment.split("/") if t]:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


# ---------------------------------------------------------------- the schema files


def test_every_schema_file_is_a_draft_2020_12_schema_whose_id_is_its_path():
    documents = protocol_schema().documents
    assert len(documents) > 60, sorted(documents)
    for name, document in documents.items():
        Draft202012Validator.check_schema(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        assert document["$id"] == SCHEMA_BASE + name, name


def test_every_ref_of_the_schema_files_resolves_among_them():
    schema = protocol_schema()
    for name, document in schema.documents.items():
        resolver = schema.registry.resolver(document["$id"])
        for ref in refs(document):
            assert not ref.startswith(("http:", "https:")), f"{name}: {ref} is not relative"
            resolver.lookup(ref)  # raises Unresolvable


def test_the_frame_schemas_list_every_request_reply_and_event():
    schema = protocol_schema()
    names = set(schema.documents)
    requests = {n for n in names if n.startswith("requests/")}
    events = {n for n in names if n.startswith("events/")}
    assert set(schema.requests.values()) == requests
    assert set(schema.replies_and_events.values()) == events | {"replies/error.json"}
    oks = {b["$ref"] for b in schema.documents["server-frame.json"]["oneOf"][0]["anyOf"]}
    assert oks == {f"replies/{t}.json" for t in schema.requests}, "each request type has its ok reply"
    assert names == requests | events | oks | {
        "common.json", "client-frame.json", "server-frame.json", "replies/ok.json", "replies/error.json"}


def test_the_error_codes_are_those_of_the_protocol_page():
    page = (REPO_ROOT / "docs" / "PROTOCOL.md").read_text()
    table = page.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE)
    assert set(protocol_schema().documents["common.json"]["$defs"]["errorCode"]["enum"]) == set(documented)


def test_a_frame_that_breaks_the_schema_is_named_with_the_schema_error():
    schema = protocol_schema()
    event = {"type": "receipt", "room": "r0123456789abcdef0123", "user": "ben", "name": "Ben", "seq": 0}
    assert schema.server_frame_error(event) == (
        f"{json.dumps(event)} does not match server-frame.json (events/receipt.json) at $.seq: "
        "0 is less than the minimum of 1")
    reply = {"type": "ok", "id": "7", "seq": 3}
    assert "(replies/msg.send.json) at $: 'room' is a required property" in schema.server_frame_error(reply, "msg.send")
    assert schema.server_frame_error({"type": "presence.fly"}).endswith("is not valid under any of the given schemas")
    request = {"type": "room.history", "id": "8", "room": "r1", "limit": 500}
    assert "(requests/room.history.json) at $.limit: 500 is greater than the maximum of 100" in (
        schema.client_frame_error(request))


# ---------------------------------------------------------------- the AsyncAPI document


def test_the_asyncapi_document_parses_and_every_ref_resolves():
    document = yaml.safe_load(ASYNCAPI.read_text())
    assert document["asyncapi"] == "3.0.0"
    assert {(s["protocol"], s["host"]) for s in document["servers"].values()} == {
        ("ws", "localhost:8080"), ("wss", "localhost:8443")}
    [channel] = document["channels"].values()
    assert channel["address"] == "/ws"
    assert channel["bindings"]["ws"]["headers"]["properties"]["Sec-WebSocket-Protocol"]["const"] == "liaison.v1"
    for ref in refs(document):
        path, _, fragment = ref.partition("#")
        target = json.loads((ASYNCAPI.parent / path).read_text()) if path else document
        assert pointer(target, fragment) is not None, ref


def test_the_asyncapi_operations_carry_every_frame_schema():
    document = yaml.safe_load(ASYNCAPI.read_text())
    schema = protocol_schema()

    def payloads(operation: str) -> set[str]:
        assert document["operations"][operation]["action"] == operation
        out = set()
        for ref in refs(document["operations"][operation]["messages"]):
            payload = pointer(document, pointer(document, ref.lstrip("#"))["$ref"].lstrip("#"))["payload"]
            assert payload["schemaFormat"] == PAYLOAD_FORMAT, ref
            out.add(payload["schema"]["$ref"].removeprefix("./schema/"))
        return out

    assert payloads("send") == set(schema.requests.values())
    oks = {f"replies/{t}.json" for t in schema.requests}
    assert payloads("receive") == oks | set(schema.replies_and_events.values())


# ---------------------------------------------------------------- a typed client model


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> SimpleNamespace:
    """Pydantic models of client-frame.json and server-frame.json, generated by datamodel-code-generator
    and imported (`models.client`, `models.server`)."""
    out = tmp_path_factory.mktemp("models")
    modules = {}
    for side in ("client", "server"):
        path = out / f"{side}_frame.py"
        subprocess.run(
            [sys.executable, "-m", "datamodel_code_generator", "--input", str(SCHEMA_DIR / f"{side}-frame.json"),
             "--input-file-type", "jsonschema", "--output", str(path), "--output-model-type", "pydantic_v2.BaseModel",
             "--use-title-as-name", "--collapse-root-models", "--target-python-version", "3.11",
             "--formatters", "builtin", "--disable-timestamp"],
            check=True, capture_output=True, timeout=120)
        spec = importlib.util.spec_from_file_location(f"liaison_{side}_frame", path)
        modules[side] = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # pydantic looks it up
        spec.loader.exec_module(modules[side])
    return SimpleNamespace(**modules)


async def test_a_model_generated_from_the_schema_sends_a_message_and_parses_the_frames_back(server, models):
    ana = await server.login("ana", "hcp")
    ben = await server.login("ben", "msl")
    room = await create_room(ana, "direct", ["ben"])
    request = models.client.MsgSendRequest(type="msg.send", id="typed-1", room=room, body="Typed hello",
                                           client_msg_id="typed-c1")
    frame = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert isinstance(models.client.ClientFrame.model_validate(frame).root, models.client.MsgSendRequest)
    await ana.send_json(frame)
    ok = models.server.MsgSendOk.model_validate(await ana.reply("typed-1"))
    event = models.server.ServerFrame.model_validate(await ben.next_event("msg", room=room)).root
    assert isinstance(event, models.server.MsgEvent)
    assert (event.room, event.seq, event.ts, event.from_, event.body, event.client_msg_id, event.kind.value) == (
        room, ok.seq, ok.ts, "ana", "Typed hello", "typed-c1", "text")
    with pytest.raises(pydantic.ValidationError):
        models.server.MsgEvent.model_validate({**event.model_dump(mode="json", by_alias=True), "room": "lobby"})


# ---------------------------------------------------------------- the schema and the server


async def test_the_server_knows_every_request_type_of_the_schema(server):
    c = await server.login("ana", "msl")
    for kind in protocol_schema().requests:
        await c.send_raw(json.dumps({"type": kind, "id": f"k-{kind}"}))  # most lack their fields: raw
        reply = await c.reply(f"k-{kind}")
        assert reply.get("message") != f"unknown type '{kind}'", reply


async def test_a_request_that_breaks_the_schema_fails_where_it_is_sent_and_never_goes_out(server):
    c = await server.login("ana", "msl")
    with pytest.raises(AssertionError, match=r"\(requests/msg\.send\.json\) at \$\.body: '' should be non-empty"):
        await c.send("msg.send", id="broken-1", room="r0123456789abcdef0123", body="")
    await c.ok("presence.set", status="away")
    assert "broken-1" not in c.replies


async def test_a_request_marked_malformed_must_break_the_schema(server):
    c = await server.login("ana", "msl")
    with pytest.raises(AssertionError, match="marked malformed but matches client-frame.json"):
        await c.send("presence.set", status="away", malformed=True)


async def test_the_server_serves_the_schema_files_and_the_asyncapi_document(server):
    status, headers, body = await asyncio.to_thread(server.get, "/v1/schema")
    assert status == 200, (status, body[:500])
    assert headers.get("content-type", "").startswith("application/schema+json"), headers
    assert json.loads(body) == ProtocolSchema().documents
    status, headers, body = await asyncio.to_thread(server.get, "/v1/asyncapi.yaml")
    assert status == 200, (status, body[:500])
    assert body.decode() == ASYNCAPI.read_text()
