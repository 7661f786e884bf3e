"""Process lifecycle, the token command, and keepalive."""

import asyncio
import json
import subprocess
import time

import jwt

from liaison_helpers import RawWS, run_cli


async def test_sigterm_closes_clients_with_1001_and_exits_0_within_5s(server):
    c = await server.login("u1", "msl")
    c2 = await server.login("u2", "hcp")
    t0 = time.monotonic()
    server.terminate()
    code = await c.wait_closed(timeout=5)
    assert code == 1001, f"expected close 1001 (going away), got {code}"
    assert await c2.wait_closed(timeout=5) == 1001
    remaining = max(0.1, 5 - (time.monotonic() - t0))
    try:
        rc = await asyncio.to_thread(server.process.wait, remaining)
    except subprocess.TimeoutExpired:
        raise AssertionError("server did not exit within 5 s of SIGTERM")
    assert rc == 0, f"server exit code {rc} after SIGTERM"


async def test_token_command_prints_jwt_with_claims_that_server_accepts(server):
    p = await asyncio.to_thread(
        run_cli,
        "token", "--secret", server.secret, "--sub", "tina", "--role", "fmd", "--tenant", "t9",
        "--name", "Tina T", "--areas", "oncology,cardio", "--ttl", "60",
    )
    assert p.returncode == 0, f"token command failed:\n{p.stdout}\n{p.stderr}"
    tok = p.stdout.strip().splitlines()[-1].strip()
    assert tok.count(".") == 2, f"not a JWT: {p.stdout!r}"
    assert jwt.get_unverified_header(tok)["alg"] == "HS256"
    claims = jwt.decode(tok, server.secret, algorithms=["HS256"])
    assert claims["sub"] == "tina"
    assert claims["role"] == "fmd"
    assert claims["tenant"] == "t9"
    assert claims["name"] == "Tina T"
    assert claims["areas"] == ["oncology", "cardio"]
    assert 50 <= claims["exp"] - time.time() <= 70, claims
    c = await server.connect("tina")
    r = await c.hello(tok, device="d1")
    assert r["user"] == "tina" and r["role"] == "fmd", r


async def test_client_answering_pings_stays_connected_past_heartbeat(server):
    c = await server.login("u1", "msl")
    await asyncio.sleep(3.5)  # --heartbeat 1: several ping rounds; the library answers them
    assert c.is_open, f"dropped with {c.close_code}"
    await c.ok("presence.set", status="away")


async def test_silent_peer_that_never_answers_pings_is_dropped(server):
    def run():
        raw = RawWS("127.0.0.1", server.port)
        try:
            raw.send_text(json.dumps({"type": "hello", "id": "h1", "token": server.token("u1", "msl"), "device": "raw"}))
            r = raw.recv_json_until(lambda o: o.get("id") == "h1", timeout=5)
            assert r["type"] == "ok", r
            t0 = time.monotonic()
            pings = 0
            deadline = t0 + 6
            while time.monotonic() < deadline:
                try:
                    f = raw.recv_frame(timeout=max(0.05, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if f is None or f[0] == 0x8:
                    return time.monotonic() - t0, pings
                if f[0] == 0x9:
                    pings += 1  # deliberately not answered
            return None, pings
        finally:
            raw.close()

    dropped_after, pings = await asyncio.to_thread(run)
    assert pings >= 1, "the server never pinged"
    assert dropped_after is not None, "a peer that never answers pings was not dropped within 6 s"
    assert dropped_after <= 2 * 1 + 1.5, f"dropped after {dropped_after:.2f}s, expected within ~2 x heartbeat"


async def test_banner_token_line_runs_as_printed_from_the_servers_folder(tmp_path):
    """Without --jwt-secret the banner prints a ready-to-paste token command with the dev secret; typed
    in the folder the server was started from, it mints a token the server accepts."""
    import shlex

    from liaison_helpers import REPO_ROOT, Client, liaison_bin

    proc = subprocess.Popen([str(liaison_bin()), "serve", "--port", "0", "--tls-port", "0", "--data-dir", str(tmp_path)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(" token --secret " in line for line in lines):
            lines.append(proc.stdout.readline())
        command = next(line.strip() for line in lines if " token --secret " in line)
        url = next(line.split()[1] for line in lines if line.strip().startswith("ws "))
        minted = await asyncio.to_thread(subprocess.run, shlex.split(command), cwd=REPO_ROOT,
                                         capture_output=True, text=True, timeout=20)
        assert minted.returncode == 0, (command, minted.stderr)
        c = await Client.connect(url, label="banner")
        try:
            r = await c.hello(minted.stdout.strip(), device="d1")
            assert r["user"] == "alice" and r["role"] == "msl", r
        finally:
            await c.close()
    finally:
        proc.terminate()
        proc.wait(10)
