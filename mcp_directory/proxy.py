"""The guarded proxy (SPEC §5): an agent-supplied path, made safe to send with our credential.

The URL is built from the configured base URL and a validated path only; whatever the
agent writes, the request goes to the configured provider host, below the provider's API
root. Everything that could choose another host, climb out of the API root or smuggle a
second request is refused with `invalid_argument` before anything is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlencode

import httpx2 as httpx

from .errors import InvalidArgument, Redactor

MAX_BODY_BYTES = 1024 * 1024
MAX_RESPONSE_BYTES = 256 * 1024
MAX_QUERY_BYTES = 8 * 1024  # the encoded query string; far past it, httpx itself gives up
MAX_QUERY_PARAMS = 50
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators (U+0085 NEL is C1):
# any of them can end a line somewhere between us and the provider's application.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _refuse(why: str) -> InvalidArgument:
    return InvalidArgument(f"path refused: {why}; give a path below the provider's API root, like /v1/users")


def _decoded_forms(path: str) -> list[str]:
    """The path and every percent-decoding of it, until decoding changes nothing."""
    forms = [path]
    for _ in range(5):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    raise _refuse("it is percent-encoded too many times")


def check_path(path: str, prefix: str) -> str:
    """Return `path` if it is a plain path below `prefix`, else raise invalid_argument."""
    if not isinstance(path, str) or not path:
        raise _refuse("it is empty")
    if len(path) > 2048:
        raise _refuse("it is longer than 2048 characters")
    if not path.startswith("/") or path.startswith("//"):
        raise _refuse("it must start with a single '/' (no scheme, host or scheme-relative URL)")
    for form in _decoded_forms(path):
        if _CONTROL.search(form):
            raise _refuse("it contains control characters (CR, LF, NUL, ...)")
        if "\\" in form:
            raise _refuse("it contains a backslash")
        if "#" in form:
            raise _refuse("it contains a fragment ('#')")
        if "?" in form:
            raise _refuse("it contains '?'; pass query parameters in `query`")
        if "@" in form and form is path:
            raise _refuse("it contains '@'; percent-encode it as %40 inside an id")
        if "://" in form or form.startswith("//"):
            raise _refuse("it names a scheme or host")
        if any(_is_dot_segment(seg) for seg in form.split("/")):
            raise _refuse("it contains '.' or '..' segments (also as '..;' or ';..')")
    if not path.startswith(prefix):
        raise _refuse(f"it must start with {prefix}")
    return path


def _is_dot_segment(segment: str) -> bool:
    """'.' or '..', also with a ';' matrix parameter around it: Java servers (Tomcat, Jetty;
    some providers run on Java) strip the parameter and then resolve '..;' as '..'."""
    return any(part in (".", "..") for part in segment.split(";"))


def _name(key: str) -> str:
    return repr(key if len(key) <= 40 else key[:40] + "...")


def check_query(query: Sequence[tuple[str, str]] | None) -> list[tuple[str, str]]:
    """Query parameters that are safe to send, in order (a name may repeat): a bounded number
    of non-empty names, no control characters, at most 8 KiB once encoded."""
    if not query:
        return []
    if len(query) > MAX_QUERY_PARAMS:
        raise InvalidArgument(f"query has {len(query)} parameters; the limit is {MAX_QUERY_PARAMS}")
    for key, value in query:
        if not key:
            raise InvalidArgument("query parameter names must be non-empty strings")
        if _CONTROL.search(key) or _CONTROL.search(value):
            raise InvalidArgument(f"query parameter {_name(key)} contains control characters or line separators")
    size = len(urlencode(query))
    if size > MAX_QUERY_BYTES:
        raise InvalidArgument(
            f"query is {size} bytes once encoded; the limit is {MAX_QUERY_BYTES} (8 KiB): "
            "send fewer or shorter parameters"
        )
    return list(query)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def encode_body(body: str | None) -> bytes | None:
    """The body to send: `body` must be the text of a JSON object or array (SPEC §5)."""
    if body is None:
        return None
    try:
        raw = body.encode()
    except UnicodeEncodeError:
        raise InvalidArgument("body holds a lone surrogate, which is not text; send valid Unicode") from None
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidArgument(f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES} (1 MiB)")
    try:
        parsed = json.loads(body, parse_constant=_no_constant)
    except ValueError as exc:
        raise InvalidArgument(
            f'body is not JSON ({str(exc)[:120]}); give the JSON object or array as a string, like {{"name": "x"}}'
        ) from None
    except RecursionError:
        raise InvalidArgument("body is nested too deeply to be read; send a flatter JSON document") from None
    if not isinstance(parsed, (dict, list)):
        raise InvalidArgument(f"body must be a JSON object or array, not {type(parsed).__name__}")
    return raw


def target_url(api_url: str, path: str, query: Sequence[tuple[str, str]] = ()) -> httpx.URL:
    """The final URL, and a last check that it is still on the configured origin and root. The
    query is encoded here, pair by pair: httpx's own `params` would group a repeated name."""
    base = httpx.URL(api_url)
    url = httpx.URL(api_url.rstrip("/") + path)
    if query:
        url = url.copy_with(query=urlencode(query).encode())
    root = base.path.rstrip("/")
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port) or not url.path.startswith(root + "/"):
        raise _refuse("it would leave the provider's API")
    return url


def response_body(response: httpx.Response, redact: Redactor) -> tuple[Any, bool]:
    """JSON when the provider sent JSON, else text; cut at 256 KiB with truncated=True.
    Secrets are redacted from the whole body before the cut, so that a cut cannot split a
    reflected credential and carry the part before it past the redactor; a JSON body is
    redacted string by string, so it stays JSON."""
    decoded = response.content.decode("utf-8", "replace")
    text = redact(decoded)
    raw = text.encode()
    if len(raw) > MAX_RESPONSE_BYTES:
        return raw[:MAX_RESPONSE_BYTES].decode("utf-8", "ignore"), True
    if "json" in response.headers.get("content-type", ""):
        try:
            return redact.tree(json.loads(decoded)), False
        except ValueError:
            pass
    return text, False
