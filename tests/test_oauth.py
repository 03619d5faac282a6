"""The OAuth 2.1 resource server (SPEC §10) as a hosted client meets it: a real `serve --transport http`
subprocess accepting the access tokens of a real local issuer (a loopback app serving RFC 8414
metadata and a JWKS), tokens minted here with PyJWT from RSA keys generated here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_directory.auth import JwtVerifier, identity
from mcp_directory.cli import main
from mcp_directory.config import OAuthConfig, Settings
from mcp_directory.jwks import FetchBudget, IssuerKeys, metadata_urls
from mcp_directory.sim import build_apps, build_world, serve_on_loopback
from mcp_directory.tools import TOOLS

from .support import TOKENS, call, clean_env, fails, ok, server_env
from .test_http import Running, running

AUDIENCE = "https://mcp.example.com/mcp"
METADATA_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
STATIC = "static-5e0c2b7d91a4"
READ, WRITE = "directory:read", "directory:write"
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    b'"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
)
WORLD = build_world(seed=1, people=60)  # the demo's directory


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """An authorization server as far as a resource server sees one: its metadata, its JWKS
    (counting fetches), and tokens signed with its keys."""

    def __init__(self) -> None:
        self.keys = {"k1": new_key()}
        self.published = ["k1"]
        self.fetches: Counter[str] = Counter()
        self.url = ""  # known once served
        self.jwks_uri: str | None = None  # where the metadata says the keys are (default: its own /keys)

    def app(self) -> Starlette:
        async def metadata(request: Request) -> Response:
            self.fetches["metadata"] += 1
            jwks_uri = self.jwks_uri or f"{self.url}/keys"
            return JSONResponse({"issuer": self.url, "jwks_uri": jwks_uri, "response_types_supported": []})

        async def keys(request: Request) -> Response:
            self.fetches["jwks"] += 1
            published = []
            for kid in self.published:
                jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True)
                published.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
            return JSONResponse({"keys": published})

        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", metadata),
                Route("/keys", keys),
            ]
        )

    def rotate(self, kid: str) -> None:
        self.keys[kid] = new_key()
        self.published = [kid]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "alice@example.com",
            "client_id": "claude-connector",
            "iat": now,
            "exp": now + 600,
            "scope": f"{READ} {WRITE}",
        }
        return {k: v for k, v in {**base, **overrides}.items() if v is not None}

    def mint(self, kid: str = "k1", key: rsa.RSAPrivateKey | None = None, **overrides: Any) -> str:
        return jwt.encode(self.claims(**overrides), key or self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def public_pem(self, kid: str = "k1") -> bytes:
        return (
            self.keys[kid]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )


@contextmanager
def issuing() -> Iterator[Issuer]:
    issuer = Issuer()
    with serve_on_loopback({"issuer": issuer.app()}) as urls:
        issuer.url = urls["issuer"]
        yield issuer


def oauth_env(issuer: Issuer, **extra: str) -> dict[str, str]:
    return clean_env(MCP_DIRECTORY_OAUTH_ISSUER=issuer.url, MCP_DIRECTORY_OAUTH_AUDIENCE=AUDIENCE, **extra)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with issuing() as issuer:
        yield issuer


@contextmanager
def hosting(issuer: Issuer) -> Iterator[Running]:
    """`serve --transport http --demo` with OAuth and the static token together, writes allowed."""
    env = oauth_env(issuer, MCP_DIRECTORY_AUTH_TOKEN=STATIC)
    with running("--transport", "http", "--demo", "--allow-writes", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def hosted(issuer: Issuer) -> Iterator[Running]:
    with hosting(issuer) as server:
        yield server


@asynccontextmanager
async def connected(url: str, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client


def post(url: str, path: str = "/mcp", token: str | None = None) -> httpx.Response:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    return httpx.post(f"{url}{path}", headers=headers, content=INITIALIZE, timeout=10)


def audit_lines(server: Running) -> list[dict[str, Any]]:
    lines = [line for line in server.output().splitlines() if line.startswith('{"event":"write"')]
    return [json.loads(line) for line in lines]


def read_tools() -> set[str]:
    """What a read token sees: the read tools, and proxy_request (a write only for other methods than GET)."""
    return {t.name for t in TOOLS if t.read_only or t.gated}


def offboarding_lines(server: Running, email: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit lines of one offboarding: offboard_user's own, and one per step it carried out."""
    user_ids = {s["user_id"] for s in steps}
    return [
        line
        for line in audit_lines(server)
        if (line["tool"] == "offboard_user" and line["target"]["email"].lower() == email.lower())
        or (line.get("via") == "offboard_user" and line["target"]["user_id"] in user_ids)
    ]


# --- the metadata and the 401s ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])
def test_protected_resource_metadata_is_open_and_exact(hosted, issuer, path):
    response = httpx.get(f"{hosted.url}{path}", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "resource": AUDIENCE,
        "authorization_servers": [issuer.url],
        "scopes_supported": [READ, WRITE],
        "bearer_methods_supported": ["header"],
    }


@pytest.mark.parametrize(("method", "path"), [("POST", "/mcp"), ("GET", "/sse"), ("POST", "/messages/?session_id=x")])
def test_a_request_without_a_token_is_told_where_the_metadata_is(hosted, method, path):
    response = httpx.request(method, f"{hosted.url}{path}", headers=MCP_HEADERS, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA_URL}"'


def hs256_with_the_public_key(issuer: Issuer) -> str:
    """The classic confusion attack, signed by hand (PyJWT refuses to use a PEM as an HMAC secret)."""
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()) + "."
    signing_input += b64(json.dumps(issuer.claims()).encode())
    signature = hmac.new(issuer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


BAD_TOKENS = {
    "expired": lambda i: i.mint(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "wrong audience": lambda i: i.mint(aud="https://other.example.com/mcp"),
    "wrong issuer": lambda i: i.mint(iss="https://evil.example.com"),
    "foreign key": lambda i: i.mint(key=new_key()),
    "alg none": lambda i: jwt.encode(i.claims(), None, algorithm="none", headers={"kid": "k1"}),
    "HS256 with the public key": hs256_with_the_public_key,
    "no exp": lambda i: i.mint(exp=None),
    "no one to name": lambda i: i.mint(sub=None, client_id=None),
    "garbage": lambda i: "not-a-jwt",
    "garbage with dots": lambda i: "eyJhbGciOi.JSUzI1NiJ9.garbage",
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_an_invalid_token_is_refused_with_invalid_token(hosted, issuer, kind):
    token = BAD_TOKENS[kind](issuer)
    for path in ("/mcp", "/messages/?session_id=x"):
        response = post(hosted.url, path, token)
        assert response.status_code == 401, (kind, path)
        assert response.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{METADATA_URL}", error="invalid_token"'
        )
    assert post(hosted.url, token=issuer.mint()).status_code == 200  # the same request, a valid token


# --- scopes ----------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_read_token_sees_and_calls_read_tools_only(hosted, issuer, mode):
    async with connected(hosted.url, issuer.mint(scope=READ), mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == read_tools()  # --allow-writes, yet no write tool
        await ok(client, "list_users", {"provider": "rootly", "limit": 2})
        error = await fails(client, "create_user", {"provider": "retool"}, "forbidden")
        assert "directory:write" in error["message"]
        # proxy_request reads with GET, and writes otherwise
        await ok(
            client,
            "proxy_request",
            {"provider": "rootly", "path": "/v1/users", "query": [{"name": "page[size]", "value": "1"}]},
        )
        error = await fails(
            client, "proxy_request", {"provider": "rootly", "method": "POST", "path": "/v1/users"}, "forbidden"
        )
        assert "directory:write" in error["message"]


@pytest.mark.anyio
async def test_write_tools_need_the_write_scope_and_reads_the_read_scope(hosted, issuer):
    async with connected(hosted.url, issuer.mint(scope=f"{READ} {WRITE}")) as client:
        everything = {t.name for t in (await client.list_tools()).tools}
    assert {"create_user", "offboard_user", "deactivate_user"} <= everything
    async with connected(hosted.url, issuer.mint(scope=None, scp=[WRITE])) as client:  # Okta's list
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == everything - read_tools()
        error = await fails(client, "list_users", {"provider": "rootly"}, "forbidden")
        assert "directory:read" in error["message"]
    async with connected(hosted.url, issuer.mint(scope="openid profile")) as client:
        assert (await client.list_tools()).tools == []
        await fails(client, "list_providers", {}, "forbidden")


@pytest.mark.anyio
async def test_an_access_reviews_export_is_a_read(hosted, issuer):
    async with connected(hosted.url, issuer.mint(scope=READ)) as client:
        export = (await ok(client, "access_review", {"providers": ["retool"], "limit": 1}))["export"]
        assert (await client.read_resource(export)).contents
    async with connected(hosted.url, issuer.mint(scope=WRITE)) as client:
        with pytest.raises(MCPError, match="directory:read"):
            await client.read_resource(export)


@pytest.mark.anyio
async def test_sse_with_an_access_token(hosted, issuer):
    headers = {"Authorization": f"Bearer {issuer.mint(scope=READ)}"}
    async with sse_client(f"{hosted.url}/sse", headers=headers) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        assert {t.name for t in (await session.list_tools()).tools} == read_tools()
        data = await ok(session, "list_users", {"provider": "opsgenie", "limit": 3})
        assert len(data["result"]) == 3
        error = await fails(session, "deactivate_user", {"provider": "opsgenie", "user": "x"}, "forbidden")
        assert "directory:write" in error["message"]


# --- who did it ------------------------------------------------------------------------------------


def person_in(*providers: str, skip: int = 0) -> str:
    people = [p for p in WORLD.people if all(name in p.accounts for name in providers)]
    return people[skip].email


@pytest.mark.anyio
async def test_every_audit_line_names_the_tokens_subject_offboarding_steps_too(hosted, issuer):
    email = person_in("rootly", "opsgenie")
    async with connected(hosted.url, issuer.mint(sub="alice@example.com"), "legacy") as client:
        args = {"email": email, "providers": ["rootly", "opsgenie"], "leave_gaps": True, "confirm": True}
        data = await ok(client, "offboard_user", args)  # leave_gaps: whatever on-call duties the person holds
    carried_out = [s for s in data["steps"] if s["outcome"] not in ("skipped", "blocked")]
    assert len(carried_out) >= 2
    lines = offboarding_lines(hosted, email, data["steps"])
    assert len(lines) == len(carried_out) + 1
    assert {line["actor"] for line in lines} == {"oauth:alice@example.com"}


@pytest.mark.anyio
async def test_without_a_subject_the_actor_is_the_client(hosted, issuer):
    email = person_in("retool", skip=1)
    async with connected(hosted.url, issuer.mint(sub=None, client_id="nightly-job")) as client:
        data = await ok(client, "offboard_user", {"email": email, "providers": ["retool"], "confirm": True})
    lines = offboarding_lines(hosted, email, data["steps"])
    assert len(lines) >= 2 and {line["actor"] for line in lines} == {"oauth:nightly-job"}


@pytest.mark.anyio
async def test_the_static_token_works_beside_oauth_with_both_scopes(hosted):
    email = person_in("opsgenie", skip=2)
    async with connected(hosted.url, STATIC, "legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"create_user", "list_users", "offboard_user"} <= names
        data = await ok(client, "offboard_user", {"email": email, "providers": ["opsgenie"], "confirm": True})
    lines = offboarding_lines(hosted, email, data["steps"])
    assert len(lines) >= 2 and {line["actor"] for line in lines} == {"static-token"}
    # and the static token's 401 is OAuth's: a client learns where to get a token
    assert (
        post(hosted.url, token="not-the-static-token")
        .headers["www-authenticate"]
        .startswith(f'Bearer resource_metadata="{METADATA_URL}"')
    )


def test_no_token_shows_up_in_the_log(hosted, issuer):
    for kind in ("expired", "foreign key", "garbage with dots"):
        post(hosted.url, token=BAD_TOKENS[kind](issuer))
    log = hosted.output()
    assert STATIC not in log and "eyJ" not in log  # no JWT, valid or not, in any line


# --- the issuer's keys -----------------------------------------------------------------------------


def test_a_rotated_key_is_fetched_once_and_garbage_kids_do_not_hammer_the_issuer():
    with issuing() as issuer, running("--transport", "http", "--demo", env=oauth_env(issuer)) as server:
        assert issuer.fetches == {"metadata": 1}  # looked up at start-up, the keys fetched on first use
        assert post(server.url, token=issuer.mint()).status_code == 200
        assert issuer.fetches == {"metadata": 1, "jwks": 1}
        for _ in range(3):
            assert post(server.url, token=issuer.mint()).status_code == 200
        assert issuer.fetches["jwks"] == 1  # cached

        issuer.rotate("k2")
        assert post(server.url, token=issuer.mint("k2")).status_code == 200
        assert issuer.fetches == {"metadata": 1, "jwks": 2}  # one refresh, no new discovery

        before = issuer.fetches["jwks"]
        for n in range(25):
            garbage = jwt.encode(issuer.claims(), issuer.keys["k2"], algorithm="RS256", headers={"kid": f"x{n}"})
            assert post(server.url, token=garbage).status_code == 401
        # a burst of 3 fetches, then one a minute: at most the burst's rest and one more
        assert issuer.fetches["jwks"] - before <= 2
        assert post(server.url, token=issuer.mint("k2")).status_code == 200
        assert "k1" not in issuer.published and post(server.url, token=issuer.mint("k1")).status_code == 401


# --- the caller's token stays here -----------------------------------------------------------------


@pytest.mark.anyio
async def test_the_callers_token_never_reaches_a_provider():
    world = build_world(seed=5, people=30)
    apps = build_apps(world, TOKENS, record_requests=True)
    with (
        issuing() as issuer,
        serve_on_loopback(apps) as urls,
        running("--transport", "http", env={**server_env(urls), **oauth_env(issuer)}) as server,
    ):
        token = issuer.mint(scope=READ)
        async with connected(server.url, token) as client:
            for provider in apps:
                await ok(client, "list_users", {"provider": provider, "limit": 2})
            await ok(client, "proxy_request", {"provider": "rootly", "path": "/v1/users"})
        log = server.output()
    assert token not in log
    for provider, app in apps.items():
        requests = app.state.requests
        assert requests, provider
        for record in requests:
            seen = json.dumps([record.headers, record.query]) + record.path + (record.raw_body or b"").decode()
            assert token not in seen
            if "client_assertion=" in (record.raw_body or b"").decode():
                continue  # a sign-in (Okta's token endpoint): the app's own signed assertion, in the body
            # the provider's own credential (the calls above succeeded with it), never the caller's
            assert record.headers.get("authorization") and "Bearer ey" not in record.headers["authorization"]


# --- in process: the pieces ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_without_auth_everything_is_allowed_and_the_actor_is_null(caplog):
    from mcp_directory.demo import demo_directory
    from mcp_directory.server import build_server

    server = build_server(demo_directory(Settings(providers={}, allow_writes=True)))
    email = person_in("retool", skip=3)
    async with Client(server) as client:
        assert {"create_user", "list_users"} <= {t.name for t in (await client.list_tools()).tools}
        data, is_error = await call(client, "offboard_user", {"email": email, "providers": ["retool"], "confirm": True})
        assert not is_error, data
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]
    assert lines and all("actor" in line and line["actor"] is None for line in lines)


def test_scopes_come_from_scope_or_scp_and_the_client_from_its_usual_claims():
    def of(**claims: Any) -> tuple[list[str], str, str | None]:
        token = identity("t", {"exp": 1, **claims}, AUDIENCE)
        assert token is not None
        return token.scopes, token.client_id, token.subject

    assert of(scope=f"{READ} openid", sub="u") == ([READ, "openid"], "", "u")
    assert of(scp=[WRITE, READ], cid="okta-app", sub="u") == ([READ, WRITE], "okta-app", "u")
    assert of(scp=READ, appid="entra-app") == ([READ], "entra-app", None)
    assert of(azp="kc-client", sub="s", scope=5) == ([], "kc-client", "s")
    assert identity("t", {"exp": 1}, AUDIENCE) is None


def test_the_fetch_budget_is_a_burst_then_one_a_minute():
    now = [0.0]
    budget = FetchBudget(burst=3, every=60.0, clock=lambda: now[0])
    assert [budget.take() for _ in range(5)] == [True, True, True, False, False]
    now[0] += 59
    assert not budget.take()
    now[0] += 1
    assert budget.take() and not budget.take()
    now[0] += 3600
    assert [budget.take() for _ in range(4)] == [True, True, True, False]


def test_metadata_is_looked_for_where_the_mcp_spec_says():
    assert metadata_urls("https://tenant.auth0.com/") == [
        "https://tenant.auth0.com/.well-known/oauth-authorization-server",
        "https://tenant.auth0.com/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://kc.example.com/realms/acme") == [
        "https://kc.example.com/.well-known/oauth-authorization-server/realms/acme",
        "https://kc.example.com/.well-known/openid-configuration/realms/acme",
        "https://kc.example.com/realms/acme/.well-known/openid-configuration",
    ]


def issuer_answering(documents: dict[str, Any], seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        document = documents.get(str(request.url))
        return httpx.Response(200, json=document) if document is not None else httpx.Response(404)

    return httpx.MockTransport(handler)


@pytest.mark.anyio
async def test_discovery_falls_back_to_openid_configuration_and_checks_the_issuer():
    issuer, key = "https://id.example.com/realms/acme", new_key()
    jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "a"}
    seen: list[str] = []
    documents = {
        f"{issuer}/.well-known/openid-configuration": {"issuer": issuer, "jwks_uri": "https://id.example.com/certs"},
        "https://id.example.com/certs": {"keys": [jwk]},
    }
    keys = IssuerKeys(issuer, transport=issuer_answering(documents, seen))
    verifier = JwtVerifier(OAuthConfig(issuer, AUDIENCE), keys)
    now = int(time.time())
    claims = {"iss": issuer, "aud": [AUDIENCE, "account"], "sub": "u", "exp": now + 60, "scope": READ}
    token = await verifier.verify_token(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "a"}))
    assert token is not None and token.scopes == [READ] and token.subject == "u"
    assert seen[-2:] == [f"{issuer}/.well-known/openid-configuration", "https://id.example.com/certs"]

    seen.clear()
    wrong = {f"{issuer}/.well-known/openid-configuration": {"issuer": issuer + "/", "jwks_uri": "https://x/certs"}}
    keys = IssuerKeys(issuer, transport=issuer_answering(wrong, seen))
    assert (
        await JwtVerifier(OAuthConfig(issuer, AUDIENCE), keys).verify_token(
            jwt.encode(claims, key, algorithm="RS256", headers={"kid": "a"})
        )
        is None
    )
    assert "https://x/certs" not in seen  # a metadata document naming another issuer is not trusted


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MCP_DIRECTORY_OAUTH_ISSUER": "https://id.example.com"}, "MCP_DIRECTORY_OAUTH_AUDIENCE is missing"),
        ({"MCP_DIRECTORY_OAUTH_JWKS_URL": "https://id.example.com/k"}, "MCP_DIRECTORY_OAUTH_ISSUER"),
        (
            {"MCP_DIRECTORY_OAUTH_ISSUER": "http://id.example.com", "MCP_DIRECTORY_OAUTH_AUDIENCE": AUDIENCE},
            "must be an https:// URL",
        ),
        (
            {"MCP_DIRECTORY_OAUTH_ISSUER": "https://id.example.com", "MCP_DIRECTORY_OAUTH_AUDIENCE": AUDIENCE + "#x"},
            "MCP_DIRECTORY_OAUTH_AUDIENCE must not contain",
        ),
    ],
)
def test_an_incomplete_or_unsafe_oauth_configuration_stops_serve(monkeypatch, capsys, env, message):
    for name in os.environ:
        if name.startswith("MCP_DIRECTORY_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--transport", "http", "--demo"]) == 2
    assert message in capsys.readouterr().err


def test_serve_beyond_loopback_names_both_ways_to_authenticate():
    command = [sys.executable, "-m", "mcp_directory", "serve", "--transport", "http", "--host", "192.0.2.10"]
    done = subprocess.run(command, env=clean_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "MCP_DIRECTORY_AUTH_TOKEN" in done.stderr and "MCP_DIRECTORY_OAUTH_ISSUER" in done.stderr
