"""The four Atlassian APIs behind the `jsm` provider, as one adapter base (`AtlassianApis`).

Each API has its own `ApiClient`, so each credential goes only where it belongs: the Basic
`base64(email:token)` to the site (Jira and Teams) and to the Ops API, the org admin key (Bearer)
to the org admin API only, and never the one to the other's host; the clients share one request
budget. This module also holds the reads several operations share: the site's cloudId (read once),
the org's accounts (read whole, kept briefly), a team's members (POST reads, paged by `after`),
users in bulk, the admin permission, and the envelopes (Jira answers lists as bare arrays).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ..aio import gather
from ..errors import InvalidArgument
from ..http import ApiClient, segment
from ..models import Group
from ..paging import Chunk, Listing
from ..proxy import check_path
from ..spec import Paginator, ProviderConfig, ProviderSpec, State
from .base import Adapter, Mapper
from .jsm_mapping import basic_authorization, cursor_of, map_team, team_id

SITE_ROOTS = ("/rest/api/3/", "/gateway/api/public/teams/")
OPS_ROOT = "/v1/"
ORG_TTL = 30.0  # seconds an org directory read serves later calls (a list walk reads it once)
TEAM_PAGE = 50  # members per Teams API page (its maximum)
BULK_PAGE = 50  # account ids per /user/bulk request


class AtlassianApis(Adapter):
    """The clients and shared reads; `Jsm` (jsm.py) holds the operations."""

    def __init__(self, spec: ProviderSpec, config: ProviderConfig, **kwargs: Any) -> None:
        super().__init__(spec, config, **kwargs)
        transport, budget = kwargs.get("transport"), self.http.throttle  # one budget for the four APIs
        inflight = self.http.inflight  # and one era of writes (`inflight.py`)

        def client(base: str, root: str, secret: str, authorization: str) -> ApiClient:
            return ApiClient(
                spec,
                base,
                secret,
                transport=transport,
                options=self.options,
                authorization=authorization,
                api_root=root,
                throttle=budget,
                inflight=inflight,
            )

        token, api_url = config.credential, config.get("api_url") or "https://api.atlassian.com"
        basic = f"Basic {basic_authorization(config.get('email') or '', token)}"
        self.http = self.site = client(config.base_url, "", token, basic)  # Jira and Teams
        self.ops = client(api_url, "/jsm/ops/api", token, basic)
        org_key = config.get("org_key")  # the org admin API: its own client, its own credential, or none
        self.admin = client(api_url, "/admin", org_key, f"Bearer {org_key}") if org_key else None
        self._org = config.get("org_id") or ""
        self._cloud = config.get("cloud_id")
        self._cloud_lock = anyio.Lock()
        self._accounts: tuple[float, dict[str, dict[str, Any]]] | None = None
        self._accounts_lock = anyio.Lock()

    @property
    def clients(self) -> list[ApiClient]:
        return [c for c in (self.site, self.ops, self.admin) if c is not None]

    @property
    def org_id(self) -> str:
        return segment(self._org)

    async def cloud(self) -> str:
        """The site's cloudId: JSM_CLOUD_ID, else read once from `/_edge/tenant_info`."""
        async with self._cloud_lock:
            if self._cloud is None:
                document = await self.site.get("/_edge/tenant_info")
                found = document.get("cloudId") if isinstance(document, dict) else None
                if not isinstance(found, str) or not found:
                    raise self.malformed("cloudId in /_edge/tenant_info")
                self._cloud = found
            return segment(self._cloud)

    async def ops_path(self, rest: str) -> str:
        return f"/{await self.cloud()}{rest}"

    def teams_path(self, team: str, rest: str = "") -> str:
        return f"/gateway/api/public/teams/v1/org/{self.org_id}/teams/{segment(team_id(team))}{rest}"

    async def accounts(self) -> dict[str, dict[str, Any]] | None:
        """The org's managed accounts by account id (email, status, last activity), or None
        without the org key. Read whole (cursor pages), then kept ORG_TTL seconds."""
        if self.admin is None:
            return None
        async with self._accounts_lock:
            if self._accounts is not None and time.monotonic() - self._accounts[0] < ORG_TTL:
                return self._accounts[1]
            found: dict[str, dict[str, Any]] = {}
            cursor: str | None = None
            seen: set[str] = set()
            while True:
                document = await self.admin.get(f"/v1/orgs/{self.org_id}/users", {"cursor": cursor})
                for account in self.records(document, "data"):
                    if isinstance(account.get("account_id"), str):
                        found[account["account_id"]] = account
                cursor = cursor_of((document.get("links") or {}).get("next"))
                if cursor is None:
                    break
                if cursor in seen:
                    raise self.malformed("an org users cursor that moves on (it repeated)")
                seen.add(cursor)
            self._accounts = (time.monotonic(), found)
            return found

    def forget_accounts(self) -> None:
        self._accounts = None

    # Envelopes: Jira answers lists as bare arrays; the others wrap them under a key.

    def records(self, document: Any, key: str | None = None) -> list[dict[str, Any]]:
        rows = document if key is None else (document.get(key) if isinstance(document, dict) else None)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise self.malformed("a JSON array of records" if key is None else f"a list of records under {key}")
        return rows

    def record(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise self.malformed("a JSON object")
        return document

    def listed(
        self,
        client: ApiClient,
        path: str | Callable[[], Awaitable[str]],
        params: dict[str, Any],
        mapper: Mapper[Any],
        paginator: Paginator,
        key: str | None = None,
    ) -> Listing[Any]:
        """A list on one of the APIs (`path` may need the cloudId first), its records under `key`."""

        async def fetch(state: State) -> Chunk[Any]:
            where = path if isinstance(path, str) else await path()
            document = await client.get(where, {**params, **paginator.params(state)})
            rows = self.records(document, key)
            return Chunk(rows, paginator.follow(state, document, len(rows)), mapper(document))

        return Listing(fetch, paginator, min(self.page_size, paginator.max_size))

    async def ping(self) -> None:
        """One cheap request per API this configuration uses: Jira, Teams, Ops (after the
        cloudId), and the org admin API when its key is set."""
        checks = [
            self.site.get("/rest/api/3/myself"),
            self.site.get(f"/gateway/api/public/teams/v1/org/{self.org_id}/teams", {"size": 1}),
            self._ops_ping(),
        ]
        if self.admin is not None:
            checks.append(self.admin.get(f"/v1/orgs/{self.org_id}"))
        for document in await gather(*checks):
            if not isinstance(document, dict):
                raise self.malformed("a JSON object")

    async def _ops_ping(self) -> Any:
        return await self.ops.get(await self.ops_path("/v1/roles"), {"size": 1})

    async def proxy_route(self, path: str) -> tuple[ApiClient, str]:
        """Jira and Teams paths to the site, `/v1/...` to the Ops API of the site's cloud; nothing
        else, and never the org admin API (its key stays out of agents' reach)."""
        check_path(path, "/")
        if path.startswith(SITE_ROOTS):
            return self.site, path
        if path.startswith(OPS_ROOT):
            return self.ops, await self.ops_path(path)
        raise InvalidArgument(
            "path refused: Jira Service Management paths start with /rest/api/3/ or /gateway/api/public/teams/ "
            "(the site) or /v1/ (the Ops API); the org admin API is not reachable through the proxy"
        )

    async def is_admin(self, account_id: str | None) -> bool:
        """The ADMINISTER global permission (a POST that only reads)."""
        body: dict[str, Any] = {
            "globalPermissions": ["ADMINISTER"],
            **({"accountId": account_id} if account_id else {}),
        }
        document = await self.site.call("POST", "/rest/api/3/permissions/check", json_body=body, idempotent=True)
        granted = self.record(document).get("globalPermissions")
        if not isinstance(granted, list):
            raise self.malformed("globalPermissions")
        return "ADMINISTER" in granted

    async def people(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Jira users by account id, through `/user/bulk` (a page per batch of ids)."""

        async def batch(chunk: list[str]) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            while True:
                params = {"accountId": chunk, "startAt": len(rows), "maxResults": len(chunk)}
                document = self.record(await self.site.get("/rest/api/3/user/bulk", params))
                page = self.records(document, "values")
                rows += page
                if document.get("isLast", True) or not page:
                    return rows

        batches = [ids[i : i + BULK_PAGE] for i in range(0, len(ids), BULK_PAGE)]
        found = await gather(*(batch(b) for b in batches))
        return {r["accountId"]: r for rows in found for r in rows if isinstance(r.get("accountId"), str)}

    async def ops_teams(self) -> list[Group]:
        document = await self.ops.get(await self.ops_path("/v1/teams"))
        return [map_team(r) for r in self.records(document, "platformTeams")]

    async def member_ids(self, team: str) -> list[str]:
        """A team's member account ids: POST reads paged by the cursor `after` (resent like GETs)."""
        ids: list[str] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            body: dict[str, Any] = {"first": TEAM_PAGE, **({"after": after} if after else {})}
            document = self.record(
                await self.site.call(
                    "POST",
                    self.teams_path(team, "/members"),
                    params={"siteId": await self.cloud()},
                    json_body=body,
                    idempotent=True,
                )
            )
            ids += [r["accountId"] for r in self.records(document, "results") if isinstance(r.get("accountId"), str)]
            page = document.get("pageInfo") or {}
            after = page.get("endCursor") if page.get("hasNextPage") else None
            if not after:
                return ids
            if after in seen:
                raise self.malformed("a members cursor that moves on (it repeated)")
            seen.add(after)
