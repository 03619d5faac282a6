"""Credentials never leave the process: not whole, not in part across a cut, not in another
letter case or encoding; and a short credential does not corrupt unrelated output (cursors).
Also: a base URL cannot smuggle a second credential (user:pass@) past start-up."""

from __future__ import annotations

import base64
import subprocess
import sys
from urllib.parse import quote, quote_plus

import httpx2 as httpx
import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from mcp_directory.cli import run_check
from mcp_directory.config import ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.errors import Redactor
from mcp_directory.proxy import MAX_RESPONSE_BYTES
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world

from .support import TOKENS, URLS, clean_env, fails, ok

# 51 characters, mixed case, nothing in it that other output would contain by chance.
LONG = "rtk_Zq9XwVbN3mKp7TfLs2HdYc8GjRe4UaWo6IxEv1BnQy5CuMz"
assert len(LONG) == 51


def pieces(secret: str, n: int = 8) -> list[str]:
    """Every run of n characters of `secret`: none may appear in output."""
    return [secret[i : i + n] for i in range(len(secret) - n + 1)]


def assert_nothing_of(secret: str, text: str) -> None:
    leaked = [p for p in pieces(secret) if p.lower() in text.lower()]
    assert not leaked, f"{len(leaked)} pieces of the credential leaked: {leaked[:3]} in {text[:300]!r}"


def b64_forms(data: bytes) -> list[str]:
    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return [std, std.rstrip("="), url, url.rstrip("=")]


# --- the Redactor on its own ---------------------------------------------------------------


def test_exact_match_is_redacted_and_longest_secret_first():
    redact = Redactor(["abc", "abcdefghijkl", ""])
    assert redact("key abcdefghijkl here") == "key [redacted] here"
    assert redact("x abc y") == "x [redacted] y"
    assert Redactor([])("nothing abc") == "nothing abc"


def test_other_letter_cases_of_a_long_credential():
    redact = Redactor([LONG])
    for variant in (LONG.upper(), LONG.lower(), LONG.swapcase()):
        assert redact(f"echo: {variant}!") == "echo: [redacted]!"


def test_url_encoded_forms():
    secret = "p@ss/word+with spaces&=?#%~"
    redact = Redactor([secret])
    forms = [quote(secret, safe=""), quote(secret), quote_plus(secret), quote(secret, safe="").lower()]
    for form in forms:
        assert form != secret
        out = redact(f"https://x.test/?token={form}&b=1")
        assert out == "https://x.test/?token=[redacted]&b=1", (form, out)


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:", b"ab:cd:", b"\x00\xff"])
@pytest.mark.parametrize("suffix", [b"", b"x", b":yz", b"\n"])
def test_base64_forms_at_every_alignment(prefix, suffix):
    redact = Redactor([LONG])
    for form in b64_forms(prefix + LONG.encode() + suffix):
        out = redact(f"Authorization: Basic {form}")
        assert "[redacted]" in out, (prefix, suffix, form)
        # What is left of the encoding decodes to no more than a few bytes of the secret.
        left = out.removeprefix("Authorization: Basic ").replace("[redacted]", "")
        assert len(left) <= 8 + len(prefix + suffix) * 2, out


def test_base64_of_the_whole_credential_alone():
    redact = Redactor([LONG])
    for form in b64_forms(LONG.encode()):
        out = redact(form)
        assert out.startswith("[redacted]") and len(out) <= len("[redacted]") + 3, out


def test_derived_forms_need_a_long_enough_credential():
    # 8 characters: case and URL forms count, base64 does not (its core would be ~8 chars,
    # too short to be sure it is the credential and not a coincidence).
    eight = "pAss/w0r"
    redact = Redactor([eight])
    assert redact(eight.upper()) == "[redacted]"
    assert redact(quote(eight, safe="")) == "[redacted]"
    encoded = base64.b64encode(eight.encode()).decode()
    assert redact(encoded) == encoded
    # 7 characters: only the exact credential.
    seven = "pAss/w0"
    redact = Redactor([seven])
    assert redact(seven.upper()) == seven.upper()
    assert redact(quote(seven, safe="")) == quote(seven, safe="")
    assert redact(f"'{seven}'") == "'[redacted]'"
    # 12 characters: base64 cores too.
    twelve = "pAss/w0rd-12"
    redact = Redactor([twelve])
    assert "[redacted]" in redact(base64.b64encode(b"me:" + twelve.encode()).decode())


def test_a_short_credential_inside_a_longer_token_is_left_alone():
    redact = Redactor(["WyI"])
    assert redact("cursor WyIxMjM0NTY3ODkwYWIiLDIsMF0") == "cursor WyIxMjM0NTY3ODkwYWIiLDIsMF0"
    assert redact("id-WyI") == "id-WyI"
    assert redact("a.WyI") == "a.WyI"
    # standing alone, it is redacted
    assert redact("Bearer WyI") == "Bearer [redacted]"
    assert redact('{"token":"WyI"}') == '{"token":"[redacted]"}'
    assert redact("?token=WyI&x=1") == "?token=[redacted]&x=1"
    assert redact("WyI") == "[redacted]"


def test_a_long_credential_is_redacted_even_inside_a_token():
    redact = Redactor([LONG])
    assert redact(f"abc{LONG}def") == "abc[redacted]def"


# --- through the server --------------------------------------------------------------------


def reflecting_app(answer):
    """A provider that answers every request with `answer(credential)` (a Starlette response)."""

    async def endpoint(request: Request):
        credential = request.headers.get("authorization", "").split(" ", 1)[-1]
        return answer(credential)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


def reflecting_directory(provider: str, answer, secret: str = LONG) -> Directory:
    settings = Settings(providers={provider: ProviderConfig(provider, secret, URLS[provider])})
    return Directory(settings, transports={provider: httpx.ASGITransport(app=reflecting_app(answer))})


def denied_with_cut_credential(credential: str) -> PlainTextResponse:
    # The 200-character cut of error text falls before the credential's last character.
    lead = "denied: " + "." * (201 - len("denied: ") - len(credential))
    return PlainTextResponse(lead + credential + " is not valid", status_code=401)


@pytest.mark.anyio
async def test_get_me_error_reflecting_the_credential_across_the_cut():
    directory = reflecting_directory("rootly", denied_with_cut_credential)
    async with Client(build_server(directory)) as c:
        err = await fails(c, "get_me", {"provider": "rootly"}, "unauthorized")
    assert_nothing_of(LONG, err["message"])


@pytest.mark.anyio
async def test_check_reflecting_the_credential_across_the_cut(capsys):
    directory = reflecting_directory("rootly", denied_with_cut_credential)
    assert await run_check(directory) == 1
    out = capsys.readouterr().out
    assert "unauthorized" in out
    assert_nothing_of(LONG, out)


@pytest.mark.anyio
async def test_proxy_body_reflecting_the_credential_across_the_cut():
    def big(credential):
        return PlainTextResponse("a" * (MAX_RESPONSE_BYTES - 20) + credential + "b" * 100)

    directory = reflecting_directory("rootly", big)
    async with Client(build_server(directory)) as c:
        data = await ok(c, "proxy_request", {"provider": "rootly", "path": "/v1/users"})
    assert data["truncated"] is True and len(data["body"].encode()) <= MAX_RESPONSE_BYTES
    assert_nothing_of(LONG, data["body"][-200:])


@pytest.mark.anyio
async def test_proxy_body_echoing_other_cases_and_base64_shows_nothing():
    def echo(credential):
        raw = credential.encode()
        return JSONResponse(
            {
                "upper": credential.upper(),
                "lower": credential.lower(),
                "basic": base64.b64encode(b"me@acme.test:" + raw).decode(),
                "basic_urlsafe_unpadded": base64.urlsafe_b64encode(b"x" + raw + b"y").decode().rstrip("="),
                "plain_b64": base64.b64encode(raw).decode(),
                "url": quote(credential.swapcase(), safe=""),
            }
        )

    directory = reflecting_directory("rootly", echo)
    async with Client(build_server(directory)) as c:
        result = await c.call_tool("proxy_request", {"provider": "rootly", "path": "/v1/users/me"})
    assert not result.is_error
    text = result.content[0].text
    assert_nothing_of(LONG, text)
    for prefix in (b"me@acme.test:", b"x", b""):
        for form in b64_forms(prefix + LONG.encode()):
            core = form[len(prefix) * 4 // 3 + 2 : len(form) - 4]
            assert core not in text, form
    assert text.count("[redacted]") == 6


@pytest.mark.anyio
async def test_a_three_character_credential_keeps_cursors_working():
    world = build_world(seed=5, people=30)
    short = "WyI"  # every cursor starts with it: base64 of '["'
    apps = build_apps(world, {**TOKENS, "rootly": short})
    settings = Settings(providers={"rootly": ProviderConfig("rootly", short, URLS["rootly"])})
    directory = Directory(
        settings, transports={"rootly": httpx.ASGITransport(app=apps["rootly"])}, page_sizes={"rootly": 7}
    )
    async with Client(build_server(directory)) as c:
        first = await ok(c, "list_users", {"provider": "rootly", "limit": 5})
        cursor = first["next_cursor"]
        assert cursor and cursor.startswith(short) and "[redacted]" not in cursor
        second = await ok(c, "list_users", {"provider": "rootly", "limit": 5, "cursor": cursor})
    assert len(second["result"]) == 5
    assert {u["id"] for u in second["result"]}.isdisjoint(u["id"] for u in first["result"])


# --- base URLs: no userinfo, http(s) only, no query or fragment ----------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://u:S3cretPw@api.rootly.com",
        "https://S3cretPw@api.rootly.com",
        "https://u:S3cretPw@api.rootly.com:443/",
        "ftp://api.rootly.com",
        "api.rootly.com",
        "https://",
        "https://api.rootly.com/?token=S3cretPw",
        "https://api.rootly.com?",
        "https://api.rootly.com#S3cretPw",
        "javascript:alert(1)",
    ],
)
def test_bad_base_urls_are_refused_at_start_up(url):
    with pytest.raises(ValueError) as info:
        Settings.from_env({"ROOTLY_API_TOKEN": "tok-1234567890", "ROOTLY_BASE_URL": url})
    message = str(info.value)
    assert "ROOTLY_BASE_URL" in message and "S3cretPw" not in message


def test_good_base_urls_are_accepted():
    for url in ("https://api.rootly.com", "http://127.0.0.1:8080/", "https://api.eu.opsgenie.com/x"):
        settings = Settings.from_env({"OPSGENIE_API_KEY": "k", "OPSGENIE_BASE_URL": url})
        assert settings.providers["opsgenie"].base_url == url.rstrip("/")


def test_check_refuses_a_base_url_with_a_password():
    env = clean_env(ROOTLY_API_TOKEN="tok-1234567890", ROOTLY_BASE_URL="http://u:S3cretPw@127.0.0.1:9")
    proc = subprocess.run(
        [sys.executable, "-m", "mcp_directory", "check"], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ROOTLY_BASE_URL" in proc.stderr and proc.stderr.startswith("mcp-directory: ")
    assert "S3cretPw" not in proc.stdout + proc.stderr


@pytest.mark.anyio
async def test_a_credential_that_looks_like_a_json_number_keeps_the_result_valid():
    """Redacting the result's text would have turned `"total":123` into `"total":[redacted]`,
    which is no JSON at all: strings are redacted one by one, numbers are ours."""
    secret = "123"
    directory = reflecting_directory(
        "rootly", lambda credential: JSONResponse({"total": 123, "echo": credential}), secret
    )
    async with Client(build_server(directory)) as c:
        data = await ok(c, "proxy_request", {"provider": "rootly", "path": "/v1/anything"})
    assert data["body"] == {"total": 123, "echo": "[redacted]"}
