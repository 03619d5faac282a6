"""The one HTTP path to a provider: auth, base URL, JSON decoding and error mapping.

`ApiClient` takes an httpx transport, which is the test seam: the simulated providers
plug in here through `httpx2.ASGITransport`, real deployments use the default pool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx2 as httpx

from . import __version__
from .errors import InvalidArgument, UpstreamError, from_status, map_transport_errors, upstream_message

if TYPE_CHECKING:
    from .providers.base import ProviderSpec

USER_AGENT = f"mcp-directory/{__version__}"


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    data: Any


class ApiClient:
    def __init__(
        self,
        spec: ProviderSpec,
        base_url: str,
        credential: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.spec = spec
        self.provider = spec.name
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + spec.api_root
        self._credential = credential
        self._transport = transport
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                base_url=self.api_url,
                transport=self._transport,
                timeout=self._timeout,
                headers={
                    "Authorization": f"{self.spec.auth_scheme} {self._credential}",
                    "Accept": self.spec.content_type,
                    "User-Agent": USER_AGENT,
                },
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request and return the raw response, whatever its status. `path` is
        below the API URL, or an absolute URL already checked to be on it (the proxy)."""
        what = f"{method} {httpx.URL(path).path}"
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode()
        headers = {"Content-Type": self.spec.content_type} if content is not None else None
        with map_transport_errors(self.provider, what):
            return await self._http().request(method, path, params=params, content=content, headers=headers)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> Reply:
        """Send one request; an error status raises the contract's error, a success is decoded JSON."""
        response = await self.send(method, path, params=params, json_body=json_body)
        what = f"{method} {path}"
        if response.status_code >= 400:
            raise from_status(
                self.provider,
                response.status_code,
                upstream_message(response.content),
                what=what,
                retry_after=self.spec.retry_after(response.headers),
            )
        if not response.content:
            return Reply(response.status_code, response.headers, None)
        try:
            data = response.json()
        except ValueError as exc:
            raise UpstreamError(
                f"{self.provider} sent a body that is not JSON for {what}; retry later",
                provider=self.provider,
                status=response.status_code,
            ) from exc
        return Reply(response.status_code, response.headers, data)

    async def write(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Send a write and return its decoded body (None for an empty one)."""
        return (await self.call(method, path, params=params, json_body=body)).data

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON document; parameters that are None are left out."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return (await self.call("GET", path, params=clean)).data


def segment(value: str) -> str:
    """One path segment from an agent-supplied id: percent-encoded, never `.` or `..`."""
    if value in {"", ".", ".."} or any(ord(c) < 0x20 for c in value):
        raise InvalidArgument(f"{value!r} is not a valid id")
    return quote(value, safe="")
