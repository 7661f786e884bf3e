"""Tokens from an identity provider: `serve --jwks-url` against a local JWKS server (standing in for
Keycloak, Okta or Entra ID) whose keys rotate; issuer, audience and claim mapping; refusals that say why.

The identity provider's tokens are minted here with PyJWT and RSA/EC keys from `cryptography`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from liaison_helpers import run_cli

ISSUER = "https://idp.example/realms/acme"
AUDIENCE = "liaison"


class IdentityProvider:
    """A JWKS endpoint on loopback: publishes key sets, counts fetches, signs tokens."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}
        self.published: list[str] = []
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                provider.fetches += 1
                body = json.dumps({"keys": [provider.jwk(kid) for kid in provider.published]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/realms/acme/protocol/openid-connect/certs"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def add_key(self, kid: str, kind: str = "rsa", publish: bool = True) -> None:
        self.keys[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa"
                          else ec.generate_private_key(ec.SECP256R1()))
        if publish:
            self.published.append(kid)

    def jwk(self, kid: str) -> dict:
        key = self.keys[kid]
        if isinstance(key, rsa.RSAPrivateKey):
            doc = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            doc["alg"] = "RS256"
        else:
            doc = json.loads(ECAlgorithm.to_jwk(key.public_key()))
            doc["alg"] = "ES256"
        doc.update(kid=kid, use="sig")
        return doc

    def token(self, kid: str, *, user: str = "mika", role: str = "msl", expires_in: float = 3600,
              issuer: str = ISSUER, audience: object = ("account", AUDIENCE), **extra) -> str:
        """A Keycloak-shaped access token: the id in preferred_username, roles in realm_access.roles."""
        key = self.keys[kid]
        claims = {
            "sub": f"uuid-of-{user}", "preferred_username": user, "org": "acme", "name": user.title() + " Laine",
            "realm_access": {"roles": ["offline_access", role]}, "iss": issuer,
            "aud": list(audience) if isinstance(audience, tuple) else audience,
            "exp": int(time.time() + expires_in), "iat": int(time.time()), **extra,
        }
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def close(self) -> None:
        self.http.shutdown()


@pytest.fixture
def idp():
    provider = IdentityProvider()
    provider.add_key("2026-11")
    yield provider
    provider.close()


@pytest.fixture
def idp_server(server_factory, idp):
    return server_factory(extra_args=[
        "--jwks-url", idp.url, "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE,
        "--claim-user", "preferred_username", "--claim-role", "realm_access.roles", "--claim-tenant", "org"])


async def refusal(server, tok: str) -> str:
    """The message of `hello`'s `unauthorized` error; the server then closes with 4401."""
    c = await server.connect("refused")
    rid = await c.send("hello", token=tok, device="d1", client="e2e")
    r = await c.reply(rid)
    assert r["type"] == "error" and r["code"] == "unauthorized", r
    assert await c.wait_closed() == 4401
    return r["message"]


async def test_token_signed_by_the_identity_provider_signs_in_with_mapped_claims(idp_server, idp):
    c = await idp_server.connect("mika")
    ok = await c.hello(idp.token("2026-11", user="mika", role="fmd"))
    assert ok["user"] == "mika" and ok["role"] == "fmd", ok
    colleague = await idp_server.connect("ana")
    await colleague.hello(idp.token("2026-11", user="ana", role="msl"))
    found = await colleague.ok("user.search", query="mika")
    assert [(u["user"], u["name"], u["role"]) for u in found["users"]] == [("mika", "Mika Laine", "fmd")], found


async def test_tokens_signed_by_a_rotated_key_are_accepted_after_the_keys_are_fetched_again(idp_server, idp):
    fetches = idp.fetches
    idp.add_key("2026-12", kind="ec")
    c = await idp_server.connect("rotated")
    ok = await c.hello(idp.token("2026-12", user="hana"))
    assert ok["user"] == "hana", ok
    assert idp.fetches == fetches + 1, "the unknown key id should have fetched the key set once"
    # The previous key still signs in while the provider publishes it.
    other = await idp_server.connect("old-key")
    assert (await other.hello(idp.token("2026-11", user="ana")))["user"] == "ana"


async def test_a_key_the_provider_does_not_publish_is_refused_as_unknown_and_fetches_are_bounded(idp_server, idp):
    idp.add_key("never-published", publish=False)
    fetches = idp.fetches
    for _ in range(5):
        assert await refusal(idp_server, idp.token("never-published")) == "token rejected: unknown key"
    assert idp.fetches <= fetches + 1, f"{idp.fetches - fetches} fetches for five tokens with an unknown key"


async def test_wrong_issuer_wrong_audience_and_expired_tokens_are_refused_with_the_reason(idp_server, idp):
    assert await refusal(idp_server, idp.token("2026-11", issuer="https://evil.example/")) == "token rejected: wrong issuer"
    assert await refusal(idp_server, idp.token("2026-11", audience="account")) == "token rejected: wrong audience"
    assert await refusal(idp_server, idp.token("2026-11", expires_in=-120)) == "token expired"
    assert await refusal(idp_server, idp.token("2026-11", role="superuser")) == (
        "token rejected: claim 'realm_access.roles' holds no Liaison role (hcp, msl, fmd, admin)")


async def test_a_token_signed_with_another_key_under_a_published_key_id_has_a_bad_signature(idp_server, idp):
    genuine = idp.keys["2026-11"]
    idp.keys["2026-11"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = idp.token("2026-11")
    idp.keys["2026-11"] = genuine
    assert await refusal(idp_server, forged) == "token rejected: bad signature"


async def test_the_servers_own_hs256_tokens_still_sign_in_beside_the_identity_provider(idp_server):
    c = await idp_server.login("local-admin", "admin", tenant="acme")
    assert c.hello_reply["role"] == "admin"


@pytest.mark.parametrize("flags, message", [
    (["--jwks-url", "file:///etc/passwd"], "--jwks-url must be an http(s) URL"),
    (["--jwks-url", "http://127.0.0.1:9/certs", "--jwks-refresh", "0"], "--jwks-refresh must be at least 1 second"),
    (["--claim-role", ""], "a --claim-… name must not be empty"),
], ids=["file-url", "refresh-zero", "empty-claim"])
def test_serve_refuses_bad_identity_provider_flags(tmp_path, flags, message):
    result = run_cli("serve", "--port", "0", "--tls-port", "0", "--data-dir", str(tmp_path), *flags, timeout=10)
    assert result.returncode != 0, result
    assert message in result.stderr + result.stdout, result.stderr
