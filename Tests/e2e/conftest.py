"""Fixtures: start the real `liaison` binary on a free loopback port per test."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from liaison_helpers import Server, liaison_bin  # noqa: E402

DEFAULT_FLAGS = {
    "host": "127.0.0.1",
    "tls-port": "0",
    "hello-timeout": "1",
    "heartbeat": "1",
    "presence-grace": "0.5",
}


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a test whose clients received a frame that does not match docs/schema/server-frame.json
    (the frames they send are checked as they are sent: see `Client`)."""
    try:
        return (yield)
    finally:
        factory = item.funcargs.get("server_factory")
        violations = [v for c in factory.clients for v in c.schema_violations] if factory else []
        if violations:
            pytest.fail(f"{len(violations)} frame(s) broke the protocol schema:\n" + "\n".join(violations))


class ServerFactory:
    """`server_factory(**flags)` starts `liaison serve` with the default test
    flags plus `flags` (`rate_limit=5` -> `--rate-limit 5`; value True -> bare
    flag; value None -> drop a default flag). Keyword-only extras:
    `secret`, `data_dir`, `extra_args` (list of raw args), `wait` (False: return at once,
    before the server is healthy: a cluster node that waits as a standby)."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.servers: list[Server] = []
        self.clients: list = []
        self._n = 0

    def __call__(self, *, secret: str | None = None, data_dir: Path | None = None, extra_args=(), wait: bool = True,
                 **flags) -> Server:
        bin_path = liaison_bin()
        if not bin_path.exists():
            pytest.fail(f"server binary not found at {bin_path} (set LIAISON_BIN)")
        self._n += 1
        secret = secret or secrets.token_hex(16)
        data_dir = Path(data_dir) if data_dir else self.tmp_path / f"data{self._n}"
        data_dir.mkdir(parents=True, exist_ok=True)
        merged = dict(DEFAULT_FLAGS)
        for k, v in flags.items():
            merged[k.replace("_", "-")] = v
        # Port 0: the OS picks a free port (no race with other sockets); the banner says which.
        args = ["serve", "--port", "0", "--data-dir", str(data_dir), "--jwt-secret", secret]
        for k, v in merged.items():
            if v is None or v is False:
                continue
            if v is True:
                args.append(f"--{k}")
            else:
                args += [f"--{k}", str(v)]
        args += list(extra_args)
        srv = Server(bin_path, self.tmp_path, args, secret, data_dir, self.clients)
        srv.flags = dict(flags)
        srv.extra_args = list(extra_args)
        self.servers.append(srv)
        if wait:
            srv.wait_healthy(30)
        return srv

    def restart(self, old: Server, *, extra_args=None, **flags) -> Server:
        """Start a new server on `old`'s data dir with `old`'s secret and flags (overridden by
        `flags`), after `old` has exited (stop it, or kill it, first). The port is a new one."""
        if old.process.poll() is None:
            raise AssertionError("restart: the old server is still running; stop or kill it first")
        merged = dict(getattr(old, "flags", {}))
        merged.update(flags)
        extra = getattr(old, "extra_args", []) if extra_args is None else extra_args
        return self(secret=old.secret, data_dir=old.data_dir, extra_args=extra, **merged)


@pytest.fixture
def server_factory(request, tmp_path):
    factory = ServerFactory(tmp_path)
    yield factory
    for srv in factory.servers:
        srv.stop(5)
    rep = getattr(request.node, "rep_call", None)
    if rep is None or rep.failed:
        for srv in factory.servers:
            print(f"\n----- liaison server log ({srv.log_path}), args: {' '.join(srv.args)}")
            print(srv.log_tail(80))


@pytest.fixture(autouse=True)
async def _close_clients(server_factory):
    """Close every client a test opened before its servers are stopped."""
    yield
    for c in list(server_factory.clients):
        await c.close()


@pytest.fixture
def server(server_factory) -> Server:
    return server_factory()


@pytest.fixture
def chat_server(server_factory) -> Server:
    """A server for chat tests: a rate limit high enough for bulk sends."""
    return server_factory(rate_limit=100000)
