"""proxy_request (toolset `proxy`): what the other tools do not cover, safely (SPEC §5).

Any method but GET may change anything at the provider, so with writes allowed it is asked of
the human first (`Call.confirm`, SPEC §9), once the path has been checked.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import Unsupported, WritesDisabled
from ..models import ProxyResponse
from ..proxy import MAX_BODY_BYTES, MAX_QUERY_PARAMS, check_query, encode_body, response_body, target_url
from .base import Args, Call, ProviderArg, tool


# One query parameter. Not an `Args`: an empty value (`?flag=`) is a real one. (No docstring:
# it would become a description in the schema.)
class QueryParam(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(min_length=1, max_length=200, description="Parameter name.")]
    value: Annotated[str, Field(max_length=8192, description="Parameter value.")]


class ProxyArgs(Args):
    provider: ProviderArg
    method: Annotated[
        Literal["GET", "POST", "PUT", "PATCH", "DELETE"],
        Field(description="HTTP method, default GET; anything but GET needs writes allowed."),
    ] = "GET"
    path: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2048,
            description="Path below the provider's API root as it documents it: $PROXY_ROOTS. "
            "No host, no query string.",
            # In the schema only: check_path refuses a path without it with a message that says why.
            json_schema_extra={"pattern": "^/"},
        ),
    ]
    query: Annotated[
        list[QueryParam] | None,
        Field(max_length=MAX_QUERY_PARAMS, description="Query parameters in order; a name may repeat."),
    ] = None
    body: Annotated[
        str | None,
        Field(max_length=MAX_BODY_BYTES, description='JSON object or array to send, as text, e.g. {"name": "x"}.'),
    ] = None


@tool(title="Provider API request", toolset="proxy", args=ProxyArgs, result=ProxyResponse, gated=True)
async def proxy_request(call: Call, args: ProxyArgs) -> ProxyResponse:
    """Call any endpoint of a configured provider's API with the server's credential, for what
    the other tools do not cover. GET only unless writes are allowed. Returns status, the
    content-type and rate-limit headers, and the body (JSON or text, cut at 256 KiB)."""
    adapter = call.adapter(args.provider)
    if args.method != "GET" and not call.directory.settings.allow_writes:
        raise WritesDisabled(
            f"{args.method} is a write and writes are disabled; the operator can allow them with "
            "--allow-writes or MCP_DIRECTORY_ALLOW_WRITES=true",
            provider=args.provider,
        )
    if args.method != "GET" and adapter.spec.read_only:
        raise Unsupported(
            f"{adapter.spec.title} is read-only here: proxy_request sends it GET only", provider=args.provider
        )
    client, path = await adapter.proxy_route(args.path)  # which of its APIs, if any, the path is below
    query = check_query([(q.name, q.value) for q in args.query or ()])
    content = encode_body(args.body)
    url = target_url(client.api_url, path, query)
    if args.method != "GET":
        await call.confirm(proxy_plan(args.method, adapter.spec.title, args.path))
    response = await client.send(args.method, str(url), content=content)
    keep = {"content-type", "retry-after", *adapter.spec.rate_limit_headers}
    body, truncated = response_body(response, call.directory.redact)
    return ProxyResponse(
        provider=args.provider,
        status=response.status_code,
        headers={k: v for k, v in response.headers.items() if k.lower() in keep},
        body=body,
        truncated=truncated,
    )


def proxy_plan(method: str, title: str, path: str) -> str:
    """The question for a proxied write: what goes where, with whose credential."""
    return f"Would send {method} {path} to {title} with the server's credential; it may change or delete data there."
