"""The command line (SPEC §1): serve, tools, call, check."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

import anyio

from . import __version__
from .config import TOOLSETS, Settings
from .directory import Directory
from .errors import DirectoryError
from .logs import configure_logging
from .providers import PROVIDERS
from .server import build_server
from .tools import TOOLS, select
from .tools.schema import joined

log = logging.getLogger("mcp_directory")


def make_directory(settings: Settings) -> Directory:
    if settings.demo:
        from .demo import demo_directory

        return demo_directory(settings)
    return Directory(settings)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", default=None, help="use built-in simulated providers")
    parser.add_argument("--allow-writes", action="store_true", default=None, help="register the write tools")
    parser.add_argument("--toolsets", help=f"comma list of toolsets: {','.join(TOOLSETS)}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mcp-directory",
        description=f"MCP server for the user directories of {joined([p.title for p in PROVIDERS], 'and')}.",
    )
    top.add_argument("--version", action="version", version=f"mcp-directory {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the MCP server")
    serve.add_argument("--transport", choices=("stdio", "http", "sse"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--allowed-hosts",
        default="",
        help="comma list of extra Host header values to accept (http/sse), e.g. mcp.example.com; "
        "loopback is always allowed",
    )
    serve.add_argument(
        "--allowed-origins",
        default="",
        help="comma list of extra Origin header values to accept (http/sse), e.g. https://agents.example.com",
    )
    _common(serve)

    tools = sub.add_parser("tools", help="list the registered tools")
    _common(tools)

    call = sub.add_parser("call", help="run one tool through the real MCP server, in process")
    call.add_argument("tool")
    call.add_argument("--json", dest="json_args", help="arguments as one JSON object")
    call.add_argument("pairs", nargs="*", metavar="k=v", help="arguments; values are parsed as JSON when they can be")
    _common(call)

    check = sub.add_parser("check", help="one authenticated request per configured provider")
    check.add_argument("--demo", action="store_true", default=None, help="check the simulated providers")
    return top


def parse_arguments(json_args: str | None, pairs: list[str], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Arguments from --json and k=v pairs. A pair's value is parsed as JSON (limit=5 is a
    number), except where the tool's schema says the argument is a string (incident_id=42)."""
    strings = {k for k, p in ((schema or {}).get("properties") or {}).items() if value_types(p) == {"string"}}
    arguments: dict[str, Any] = {}
    if json_args:
        loaded = json.loads(json_args)
        if not isinstance(loaded, dict):
            raise ValueError("--json must be a JSON object")
        arguments.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"argument {pair!r} is not of the form key=value")
        if key in strings:
            arguments[key] = raw
            continue
        try:
            arguments[key] = json.loads(raw)
        except ValueError:
            arguments[key] = raw
    return arguments


def value_types(prop: dict[str, Any]) -> set[Any]:
    """The JSON types an argument takes besides null (an optional one is `anyOf: [T, null]`)."""
    return {branch.get("type") for branch in prop.get("anyOf", [prop]) if branch != {"type": "null"}}


async def run_call(directory: Directory, tool: str, arguments: dict[str, Any]) -> int:
    from mcp import Client

    server = build_server(directory)
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    text = "".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        print(text, file=sys.stderr)
        return 1
    data = result.structured_content if result.structured_content is not None else json.loads(text)
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


async def run_check(directory: Directory) -> int:
    rows, failed = [], False
    for name, adapter in directory.adapters.items():
        started = time.perf_counter()
        try:
            await adapter.ping()
            outcome = "ok"
        except DirectoryError as exc:
            outcome, failed = f"error: {exc.code}: {directory.redact(exc.message)}", True
        rows.append((name, adapter.http.base_url, outcome, f"{(time.perf_counter() - started) * 1000:.0f} ms"))
    await directory.aclose()
    if not rows:
        needed = " or ".join(" + ".join(p.spec.required_env()) for p in directory.providers.values())
        print(f"no provider is configured; set {needed}")
        return 1
    table = [("provider", "base URL", "result", "latency"), *rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(4)]
    for row in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except BrokenPipeError:
        # The reader went away (`mcp-directory call ... | head`): nothing more to say, and no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run(argv: list[str] | None = None) -> int:
    top = parser()
    # k=v pairs may come after options (`call list_users --demo provider=NAME`), which
    # argparse leaves over; they belong to `call`, and are an error anywhere else.
    args, extra = top.parse_known_args(argv)
    if extra and (args.command != "call" or any(e.startswith("-") for e in extra)):
        top.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "call":
        args.pairs = [*args.pairs, *extra]
    try:
        settings = Settings.from_env(
            os.environ,
            demo=args.demo,
            allow_writes=getattr(args, "allow_writes", None),
            toolsets=getattr(args, "toolsets", None),
        )
    except ValueError as exc:
        print(f"mcp-directory: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings, logging.INFO if args.command == "serve" else logging.WARNING)
    for warning in settings.warnings:
        log.warning(warning)
    directory = make_directory(settings)

    if args.command == "tools":
        for t in select(directory.settings):
            print(f"{t.name:<24} {t.toolset:<10} {'read-only' if t.read_only else 'write'}")
        return 0
    if args.command == "call":
        try:
            known = {t.name: t for t in TOOLS}.get(args.tool)
            arguments = parse_arguments(
                args.json_args, args.pairs, known.input_schema(list(directory.providers.values())) if known else None
            )
        except ValueError as exc:
            print(f"mcp-directory: {exc}", file=sys.stderr)
            return 2
        return anyio.run(run_call, directory, args.tool, arguments)
    if args.command == "check":
        return anyio.run(run_check, directory)
    # serve
    if args.transport == "stdio":
        build_server(directory).run()
        return 0
    return run_web(args, settings, directory)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def run_web(args: argparse.Namespace, settings: Settings, directory: Directory) -> int:
    """`serve --transport http|sse`: one app serving /mcp, /sse + /messages/ and /healthz (and,
    with OAuth, the protected-resource metadata). A non-loopback bind needs a static token or
    OAuth (SPEC §10)."""
    from .auth import JwtVerifier
    from .jwks import IssuerMisconfigured, KeysUnavailable
    from .web import is_loopback
    from .web_server import HEADER_TIMEOUT_S, KEEP_ALIVE_TIMEOUT_S, serve

    if not settings.auth_token and not settings.oauth and not is_loopback(args.host):
        print(
            f"mcp-directory: refusing to serve on {args.host} without an auth token: anyone who can reach "
            "this address could read your directories. Set MCP_DIRECTORY_AUTH_TOKEN (e.g. "
            "`export MCP_DIRECTORY_AUTH_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')`) "
            "and send it as `Authorization: Bearer <token>`, or accept your authorization server's access "
            "tokens with MCP_DIRECTORY_OAUTH_ISSUER and MCP_DIRECTORY_OAUTH_AUDIENCE, or bind 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    if settings.redis_url and not settings.cursor_secret:
        print(
            "mcp-directory: refusing to serve replicas over Redis without a shared cursor secret: a cursor "
            "or a confirmation signed by one replica would fail on the next. Set the same "
            "MCP_DIRECTORY_CURSOR_SECRET on every replica (e.g. "
            "`export MCP_DIRECTORY_CURSOR_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')`).",
            file=sys.stderr,
        )
        return 2
    if args.host in ("0.0.0.0", "::") and not args.allowed_hosts:
        log.warning(
            "serving on all interfaces but accepting only Host: localhost/127.0.0.1/[::1]; "
            "pass --allowed-hosts with the name clients use (e.g. --allowed-hosts mcp.example.com)"
        )
    verifier = None
    if settings.oauth:
        verifier = JwtVerifier(settings.oauth)
        try:
            anyio.run(verifier.keys.locate)
        except IssuerMisconfigured as exc:
            print(f"mcp-directory: the OAuth issuer's metadata is refused: {exc}", file=sys.stderr)
            return 2
        except KeysUnavailable as exc:
            log.warning("cannot read the OAuth issuer's metadata yet (%s); trying again on the first token", exc)
        log.info(
            "accepting access tokens of %s for %s%s",
            settings.oauth.issuer,
            settings.oauth.audience,
            " (and the static token)" if settings.auth_token else "",
        )
    serve(
        build_server(directory),
        args.host,
        args.port,
        auth_token=settings.auth_token,
        oauth=settings.oauth,
        verifier=verifier,
        allowed_hosts=_split(args.allowed_hosts),
        allowed_origins=_split(args.allowed_origins),
        header_timeout=HEADER_TIMEOUT_S,
        keep_alive_timeout=KEEP_ALIVE_TIMEOUT_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
