"""Audit trail: refusals are recorded; `liaison audit verify` detects tampering."""

import asyncio
import json
import re

import pytest

from liaison_helpers import run_cli, token


async def _activity(srv):
    """Some accepted and some refused actions; ends with the server stopped."""
    await srv.login("harry", "hcp")
    h = await srv.login("helen", "hcp")
    m = await srv.login("mike", "msl")
    await m.ok("presence.set", status="busy", note="audit")
    await m.ok("presence.watch", users=["helen"])
    for _ in range(3):
        await h.error("presence.watch", "forbidden", users=["harry"])
    await m.error("user.put", "forbidden", user="zed", role="msl", name="Zed", areas=[])
    admin = await srv.login("root", "admin")
    await admin.ok("user.put", user="zed", role="msl", name="Zed", areas=["cardio"])
    bad = await srv.connect("bad")
    r = await bad.request("hello", token=token("wrong-secret-but-long-enough-for-hs256-keys", "eve", "msl", "t1"), device="d")
    assert r["type"] == "error" and r["code"] == "unauthorized", r
    await bad.wait_closed()
    for c in (h, m, admin):
        await c.close()
    code = await asyncio.to_thread(srv.stop, 5)
    assert code == 0, f"server exited with {code} on SIGTERM"
    assert srv.audit_log.exists(), f"no audit log at {srv.audit_log}; data dir has {list(srv.data_dir.iterdir())}"
    lines = srv.audit_log.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 4, f"expected several audit records, got {len(lines)}"
    for ln in lines:
        json.loads(ln)  # every record is a JSON line
    return lines


def _verify(path):
    return run_cli("audit", "verify", str(path))


async def _control_copy_verifies(lines, tmp_path):
    """An untouched copy at a path like the tampered one verifies: a non-zero
    exit on the tampered copy is then about the tampering, not the path."""
    control = tmp_path / "control.log"
    control.write_bytes(b"".join(lines))
    p = await asyncio.to_thread(_verify, control)
    assert p.returncode == 0, f"verify failed on an untouched copy:\n{p.stdout}\n{p.stderr}"


@pytest.fixture
async def audited(server_factory):
    srv = server_factory()
    lines = await _activity(srv)
    return srv, lines


async def test_refusal_is_audited(server):
    await server.login("harry", "hcp")
    h = await server.login("helen", "hcp")
    await h.error("presence.watch", "forbidden", users=["harry"])
    # the record may be written asynchronously: poll (bounded)
    text = ""
    for _ in range(30):
        if server.audit_log.exists():
            text = server.audit_log.read_text(errors="replace")
            if "forbidden" in text:
                break
        await asyncio.sleep(0.1)
    assert "forbidden" in text, f"refusal not in audit log:\n{text[-2000:]}"
    assert "helen" in text, "the refused actor should be named in the audit record"


async def test_audit_verify_accepts_untampered_log(audited):
    srv, lines = audited
    p = await asyncio.to_thread(_verify, srv.audit_log)
    assert p.returncode == 0, f"verify failed on an untouched log:\n{p.stdout}\n{p.stderr}"


async def test_audit_verify_detects_one_edited_byte_and_names_the_record(audited, tmp_path):
    srv, lines = audited
    await _control_copy_verifies(lines, tmp_path)
    k = len(lines) // 2  # 0-based index of a record in the middle
    rec = json.loads(lines[k])
    line = bytearray(lines[k])
    m = re.search(rb'"ts"\s*:\s*(\d+)', line)
    if m:
        pos = m.end(1) - 1
    else:
        pos = next(i for i in range(len(line) // 2, len(line)) if chr(line[i]).isalnum())
    ch = chr(line[pos])
    line[pos] = ord(str((int(ch) + 1) % 10)) if ch.isdigit() else ord("x" if ch != "x" else "y")
    tampered = tmp_path / "edited.log"
    tampered.write_bytes(b"".join(lines[:k] + [bytes(line)] + lines[k + 1 :]))
    p = await asyncio.to_thread(_verify, tampered)
    out = p.stdout + p.stderr
    assert p.returncode != 0, f"verify accepted an edited record:\n{out}"
    names = {str(k + 1)}
    for key in ("seq", "n", "index"):
        if isinstance(rec.get(key), int):
            names.add(str(rec[key]))
    assert any(re.search(rf"(?<![0-9A-Za-z]){re.escape(n)}(?![0-9A-Za-z])", out) for n in names), (
        f"verify output should name the broken record (line {k + 1} / {names}):\n{out}"
    )


async def test_audit_verify_detects_deleted_line(audited, tmp_path):
    srv, lines = audited
    await _control_copy_verifies(lines, tmp_path)
    k = len(lines) // 2
    tampered = tmp_path / "deleted.log"
    tampered.write_bytes(b"".join(lines[:k] + lines[k + 1 :]))
    p = await asyncio.to_thread(_verify, tampered)
    assert p.returncode != 0, f"verify accepted a log with a deleted record:\n{p.stdout}\n{p.stderr}"


async def test_audit_verify_detects_swapped_lines(audited, tmp_path):
    srv, lines = audited
    await _control_copy_verifies(lines, tmp_path)
    k = len(lines) // 2
    swapped = list(lines)
    swapped[k - 1], swapped[k] = swapped[k], swapped[k - 1]
    assert swapped != lines
    tampered = tmp_path / "swapped.log"
    tampered.write_bytes(b"".join(swapped))
    p = await asyncio.to_thread(_verify, tampered)
    assert p.returncode != 0, f"verify accepted a log with swapped records:\n{p.stdout}\n{p.stderr}"


async def test_an_admin_reads_their_tenants_latest_audit_records(server):
    other = await server.login("olga", "msl", tenant="t2")
    mike = await server.login("mike", "msl")
    await mike.error("user.put", "forbidden", user="zed", role="msl", name="Zed", areas=[])
    admin = await server.login("root", "admin")
    reply = await admin.ok("audit.read", limit=50)
    records = reply["records"]
    assert records, reply
    assert {r["tenant"] for r in records if "tenant" in r} == {"t1"}, "only the admin's tenant"
    assert any(r["action"] == "request.refused" and r.get("code") == "forbidden" for r in records)
    assert all("hash" in r and "prev" in r for r in records)
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records), "oldest first"
    await other.close()


async def test_audit_read_by_a_non_admin_is_forbidden(server):
    mike = await server.login("mike", "msl")
    await mike.error("audit.read", "forbidden")
    hcp = await server.login("hana", "hcp")
    await hcp.error("audit.read", "forbidden", limit=10)


async def test_audit_read_limit_out_of_range_is_bad_request(server):
    admin = await server.login("root", "admin")
    await admin.error("audit.read", "bad_request", limit=0, malformed=True)
    await admin.error("audit.read", "bad_request", limit=5000, malformed=True)
