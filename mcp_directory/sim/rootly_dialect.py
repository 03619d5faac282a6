"""Rootly's wire dialect for the gate: bearer auth, JSON:API errors, the non-JSON:API 429 body and
`X-RateLimit-*` headers on every response (`X-RateLimit-Reset` in UTC epoch seconds)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import LimitState, json_response
from mcp_directory.sim.limiter import ceil_s

MEDIA_TYPE = "application/vnd.api+json"


class RootlyDialect:
    auth_scheme = "Bearer"
    default_rate_limit = 3000

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s

    def error(self, request: Request, status: int, message: str, **extra: Any) -> Response:
        title = extra.get("title") or HTTPStatus(status).phrase
        body = {"errors": [{"title": title, "status": str(status), "code": None, "detail": message}]}
        return json_response(body, status, MEDIA_TYPE)

    def unauthorized(self, request: Request) -> Response:
        return self.error(request, 401, "Invalid or missing API token", title="Unauthorized")

    def too_many_requests(self, request: Request, state: LimitState) -> Response:
        # Rootly's documented 429 body is plain JSON, not an errors_list.
        return json_response({"error": "Rate limit exceeded. Try again later."}, 429, MEDIA_TYPE)

    def decorate(self, request: Request, response: Response, state: LimitState) -> None:
        response.headers["X-RateLimit-Limit"] = f"{state.limit}, {state.limit};window={ceil_s(self.window_s)}"
        response.headers["X-RateLimit-Remaining"] = str(state.remaining)
        response.headers["X-RateLimit-Used"] = str(state.used)
        response.headers["X-RateLimit-Reset"] = str(state.reset_epoch)

    def bucket(self, method: str) -> str:
        return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
