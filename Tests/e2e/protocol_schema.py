"""The wire protocol's JSON Schema (docs/schema), loaded once, for checking frames.

`client-frame.json` is the oneOf of every request (`requests/<type>.json`), `server-frame.json` the
oneOf of every reply and event (`replies/<request type>.json` is the `ok` to one request type,
`replies/error.json` the error, `events/<type>.json` the events). The files refer to each other with
relative `$ref`s, resolved here through a `referencing` registry keyed by their `$id`s.

The branches of both oneOfs are told apart by their `type` constant, so a frame matches the whole
schema exactly when it matches the branch of its own `type`: that branch is what a frame is checked
against (far faster than trying every branch, and its errors name the field at fault). An `ok`
whose request is known is checked against that request's reply, which is one branch of the `ok`s.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"


class ProtocolSchema:
    """Every schema file under `root`, by its path relative to `root` (e.g. `requests/msg.send.json`)."""

    def __init__(self, root: Path = SCHEMA_DIR):
        self.documents: dict[str, dict] = {
            path.relative_to(root).as_posix(): json.loads(path.read_text())
            for path in sorted(root.rglob("*.json"))
        }
        resources = [Resource.from_contents(doc) for doc in self.documents.values()]
        self.registry = Registry().with_resources((resource.id(), resource) for resource in resources)
        self.requests = self.branches("client-frame.json")
        self.replies_and_events = self.branches("server-frame.json")
        self._validators: dict[str, Draft202012Validator] = {}

    def branches(self, name: str) -> dict[str, str]:
        """`type` → schema file, for the branches of `name`'s oneOf that are files with a constant `type`."""
        table = {}
        for branch in self.documents[name]["oneOf"]:
            ref = branch.get("$ref")
            const = self.documents[ref]["properties"]["type"].get("const") if ref in self.documents else None
            if const is not None:
                assert const not in table, f"{name}: two branches for type {const!r}"
                table[const] = ref
        return table

    def validator(self, name: str) -> Draft202012Validator:
        """A validator for the schema file `name`, its `$ref`s resolved through the registry once, up
        front (three times faster per frame than resolving them as it validates)."""
        if name not in self._validators:
            resolver = self.registry.resolver(self.documents[name]["$id"])
            self._validators[name] = Draft202012Validator(_bundle(self.documents[name], resolver))
        return self._validators[name]

    def client_frame_error(self, frame: Any) -> str | None:
        """None if `frame` is a valid request (client-frame.json); otherwise what is wrong with it."""
        return self._error(frame, "client-frame.json", self.requests.get(_type_of(frame), "client-frame.json"))

    def server_frame_error(self, frame: Any, request_type: str | None = None) -> str | None:
        """None if `frame` is a valid reply or event (server-frame.json) and, if it is the `ok` to a
        request of `request_type`, has that request's result fields; otherwise what is wrong with it."""
        kind = _type_of(frame)
        if kind == "ok" and request_type in self.requests:
            return self._error(frame, "server-frame.json", f"replies/{request_type}.json")
        return self._error(frame, "server-frame.json", self.replies_and_events.get(kind, "server-frame.json"))

    def _error(self, frame: Any, whole: str, branch: str) -> str | None:
        error = best_match(self.validator(branch).iter_errors(frame))
        if error is None:
            return None
        where = whole if branch == whole else f"{whole} ({branch})"
        return f"{_show(frame)} does not match {where} at {error.json_path}: {error.message}"


def _bundle(node: Any, resolver: Any) -> Any:
    """`node` with each `$ref` replaced by the schema it points to (looked up through `resolver`, a
    `referencing` resolver),
    under `allOf` beside the node's other keywords, as a `$ref` applies alongside them. (The schemas
    refer to nothing recursively.)"""
    if isinstance(node, list):
        return [_bundle(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _bundle(value, resolver) for key, value in node.items() if key != "$ref"}
    if "$ref" in node:
        target = resolver.lookup(node["$ref"])
        out["allOf"] = [*out.get("allOf", []), _bundle(target.contents, target.resolver)]
    return out


def _type_of(frame: Any) -> str | None:
    kind = frame.get("type") if isinstance(frame, dict) else None
    return kind if isinstance(kind, str) else None


def _show(frame: Any, limit: int = 600) -> str:
    text = json.dumps(frame, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


@functools.cache
def protocol_schema() -> ProtocolSchema:
    """The schema of docs/schema, loaded on first use."""
    return ProtocolSchema()
