"""Okta (`okta`), the identity provider: read-only, the source of truth of who still works here (SPEC §14).

`/api/v1` below the org URL; two ways to sign in: an OAuth 2.0 service app (`private_key_jwt`,
`okta_signin.py`; recommended: least privilege, not tied to a person) or an SSWS API token
(`Authorization: SSWS <token>`; it dies when the admin who made it is deactivated).

Quirks handled here (FACTS.md):
- lists are bare arrays paged by the `Link` header's `rel="next"` URL (its `after` cursor);
- the default user list leaves DEPROVISIONED people out, so a listing is two passes under one
  cursor: the default list, then `search=status eq "DEPROVISIONED"`; `email` and `search` are
  `search` expressions, which include the deprovisioned;
- `Everyone` (BUILT_IN) is left out of groups; group members are all `member`;
- admin roles cost a request per user (`/users/{id}/roles`), so list pages leave roles and
  is_admin null, while `everyone()` (what a review reads) marks the admins from one short list,
  `/iam/assignees/users`, paged in its body;
- Okta's `errorCode` decides the contract code; a 429 waits for `X-Rate-Limit-Reset`.
Nothing is written: people are deactivated in Okta itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from ..aio import gather
from ..errors import InvalidArgument
from ..http import ApiClient, segment
from ..models import Group, Role, Seen, User
from ..paging import Chunk, Listing, chained
from ..spec import WHOLE, ProviderConfig, ProviderSpec, Setting, State, Step, Token
from .base import Adapter, Mapper, Provider
from .okta_mapping import (
    after_of,
    error_code,
    error_text,
    is_listed_group,
    map_assigned_role,
    map_custom_role,
    map_group,
    map_member,
    map_user,
    next_after,
    reset_wait,
    seen_user,
    standard_roles,
)
from .okta_signin import ServiceApp, key_lines

DEFAULT_SCOPES = "okta.users.read okta.groups.read okta.roles.read"
READ_ONLY = "Okta is read-only here: people are deactivated and groups changed in Okta itself"
DEPROVISIONED = 'status eq "DEPROVISIONED"'
AFTER = Token(token_param="after", limit_param="limit", next_token=lambda d: d["next"], max_size=200)


def _caution(values: Mapping[str, str]) -> str | None:
    """The API token acts as the admin who made it and is revoked when that admin is deactivated:
    the very event this provider is read to notice (FACTS §1)."""
    app = bool(values.get("client_id") and values.get("private_key"))
    if values.get("credential") and app:
        return "okta: OKTA_API_TOKEN is ignored: the service app (OKTA_CLIENT_ID, OKTA_PRIVATE_KEY) signs in"
    if values.get("credential"):
        return (
            "okta: OKTA_API_TOKEN acts as the admin who created it and stops working when that admin is "
            "deactivated (and after 30 days unused); prefer a service app: set OKTA_CLIENT_ID and OKTA_PRIVATE_KEY"
        )
    return None


def _derived(values: Any) -> tuple[str, ...]:
    key = values.get("private_key")
    return key_lines(key) if key else ()


SPEC = ProviderSpec(
    name="okta",
    title="Okta",
    settings=(
        Setting("base_url", "OKTA_ORG_URL", "the org, e.g. https://acme.okta.com; API paths /api/v1/...", url=True),
        Setting(
            "credential",
            "OKTA_API_TOKEN",
            "an API token (SSWS) instead of a service app; it dies when the admin who made it is deactivated",
            required=False,
            secret=True,
        ),
        Setting(
            "client_id", "OKTA_CLIENT_ID", "the OAuth 2.0 service app's client id (private_key_jwt)", required=False
        ),
        Setting(
            "private_key",
            "OKTA_PRIVATE_KEY",
            "the service app's private key, PEM text (its public key is registered on the app)",
            required=False,
            secret=True,
        ),
        Setting("key_id", "OKTA_KEY_ID", "the key's id on the app (the client assertion's kid)", required=False),
        Setting("scopes", "OKTA_SCOPES", "the scopes the service app asks for", DEFAULT_SCOPES),
    ),
    api_root="",  # Okta documents its paths from the org: /api/v1/..., /oauth2/v1/token
    auth_scheme="SSWS",
    content_type="application/json",
    paginator=AFTER,
    page_size=200,
    rate_limit_headers=("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"),
    requests_per_minute=300,  # half the users bucket (600/min): the share one token or app gets (FACTS §6)
    proxy_prefix="/api/v1/",
    concurrent_pages=1,  # the next page is known only from this one's Link header
    user_delete="deactivated",  # unused: Okta has no deactivate_user here
    ping="/api/v1/users?limit=1",
    error_text=error_text,
    error_code=error_code,
    retry_after_from=reset_wait,
    derived_secrets=_derived,
    caution=_caution,
    sign_in=(("client_id", "private_key"), ("credential",)),
    read_only=True,
    identity=True,
)


class Okta(Adapter):
    missing: ClassVar[dict[str, str]] = {
        "licenses": "Okta's management API has no license or seat counts",
        "incident_roles": "Okta has no incident roles",
        **{
            write: READ_ONLY
            for write in (
                "add_group_member",
                "remove_group_member",
                "create_user",
                "deactivate_user",
                "assign_incident_role",
                "unassign_incident_role",
            )
        },
    }

    def __init__(self, spec: ProviderSpec, config: ProviderConfig, **kwargs: Any) -> None:
        super().__init__(spec, config, **kwargs)
        client_id, key = config.get("client_id"), config.get("private_key")
        self.service_app: ServiceApp | None = None
        if client_id and key:  # the service app, when both ways are set
            transport, budget = kwargs.get("transport"), self.http.throttle
            tokens = ApiClient(spec, config.base_url, "", transport=transport, options=self.options, authorization="")
            tokens.throttle = budget
            self.service_app = ServiceApp(
                tokens,
                client_id=client_id,
                private_key=key,
                key_id=config.get("key_id"),
                scopes=config.get("scopes") or DEFAULT_SCOPES,
                env=spec.setting("private_key").env,
            )
            self.http = ApiClient(
                spec,
                config.base_url,
                "",
                transport=transport,
                options=self.options,
                authorization="",
                throttle=budget,
                sign_in=self.service_app,
            )

    @property
    def clients(self) -> list[ApiClient]:
        return [self.http, *([self.service_app.tokens] if self.service_app else [])]

    def unable(self, operation: str) -> str | None:
        if operation == "me" and self.service_app is not None:
            return (
                "a service app's token has no user behind it, so Okta has no 'me' for it; "
                f"'me' answers only with an API token ({self.spec.setting('credential').env})"
            )
        return None

    # --- envelopes: bare arrays, paged by the Link header ----------------------------------------

    def records(self, document: Any) -> list[dict[str, Any]]:
        if not isinstance(document, list) or not all(isinstance(r, dict) and "id" in r for r in document):
            raise self.malformed("a JSON array of records with ids")
        return document

    def record(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict) or "id" not in document:
            raise self.malformed("a JSON object with an id")
        return document

    def linked(self, path: str, params: dict[str, Any], mapper: Mapper[Any], keep: Any = None) -> Listing[Any]:
        """A bare-array list paged by `after` cursors from its `Link` header."""

        async def fetch(state: State) -> Chunk[Any]:
            data, headers = await self.http.get_with_headers(path, {**params, **AFTER.params(state)})
            rows = self.records(data)
            page = {"next": next_after(headers.get("link")) if rows else None}
            shown = [r for r in rows if keep(r)] if keep else rows
            return Chunk(shown, AFTER.follow(state, page, len(rows)), mapper(page))

        return Listing(fetch, AFTER, min(self.page_size, AFTER.max_size), resize=keep is None)

    # --- users -----------------------------------------------------------------------------------

    def users(self, *, search: str | None, email: str | None) -> Listing[User]:
        terms = [f"profile.email eq {quoted(email)}"] if email else []
        if search:
            needle = quoted(search)
            fields = ("profile.firstName", "profile.lastName", "profile.email", "profile.login")
            terms.append("(" + " or ".join(f"{f} sw {needle}" for f in fields) + ")")
        if terms:  # search expressions include the deprovisioned
            found = self.linked("/api/v1/users", {"search": " and ".join(terms)}, lambda d: map_user)
            # Okta compares values without regard to case, beyond ASCII too: keep that one person's accounts
            return self.with_email(found, email) if email else found
        # the default list leaves the deprovisioned out: then read them, under one cursor
        return chained(
            self.linked("/api/v1/users", {}, lambda d: map_user),
            self.linked("/api/v1/users", {"search": DEPROVISIONED}, lambda d: map_user),
        )

    def everyone(self) -> Listing[User]:
        """Every user, with is_admin from one short list of the users holding an admin role
        (`/iam/assignees/users`), never a request per user: what a review reads (SPEC §14)."""
        admins: set[str] | None = None
        listing = self.users(search=None, email=None)

        async def fetch(state: State) -> Chunk[User]:
            nonlocal admins
            if admins is None:
                admins = await self.admin_ids()
            chunk = await listing.fetch(state)
            marked = admins

            def mapped(record: Any) -> User:
                user = chunk.map(record)
                return user.model_copy(update={"is_admin": user.id in marked})

            def lean(record: Any) -> Seen:
                return seen_user(record, str(record["id"]) in marked)

            return Chunk(chunk.records, chunk.step, mapped, lean)

        return Listing(fetch, listing.paginator, listing.page_size, resize=False)

    async def admin_ids(self) -> set[str]:
        """The ids of the users holding an admin role, paged by `_links.next` in the body."""
        found: set[str] = set()
        after: str | None = None
        seen: set[str] = set()
        while True:
            document = await self.http.get("/api/v1/iam/assignees/users", {"limit": 100, "after": after})
            value = document.get("value") if isinstance(document, dict) else None
            if not isinstance(value, list):
                raise self.malformed("value, a list of the users with role assignments")
            found.update(str(v["id"]) for v in value if isinstance(v, dict) and v.get("id"))
            links = document.get("_links") if isinstance(document.get("_links"), dict) else {}
            after = next_link_after(links)
            if after is None:
                return found
            if after in seen:
                raise self.malformed("an assignees cursor that moves on (it repeated)")
            seen.add(after)

    async def user(self, user_id: str) -> User:
        if user_id.strip().lower() == "me":
            raise InvalidArgument("user_id 'me' is not an Okta user id; use get_me", provider=self.name)
        return await self.completed(self.record(await self.http.get(f"/api/v1/users/{segment(user_id)}")))

    async def me(self) -> User:
        return await self.completed(self.record(await self.http.get("/api/v1/users/me")))

    async def completed(self, record: dict[str, Any]) -> User:
        """A user with admin roles and groups (two more requests, hence only here)."""
        uid = segment(str(record["id"]))
        roles, groups = await gather(
            self.http.get(f"/api/v1/users/{uid}/roles"), self.http.get(f"/api/v1/users/{uid}/groups")
        )
        if not isinstance(roles, list) or not all(isinstance(r, dict) for r in roles):
            raise self.malformed("a JSON array of role assignments")
        group_ids = [str(g["id"]) for g in self.records(groups) if is_listed_group(g)]
        return map_user(record, roles=[map_assigned_role(r) for r in roles], group_ids=group_ids)

    # --- groups ----------------------------------------------------------------------------------

    def groups(self, *, search: str | None) -> Listing[Group]:
        params = {"search": f"profile.name sw {quoted(search)}"} if search else {}
        return self.linked("/api/v1/groups", params, lambda d: lambda r: map_group(r), keep=is_listed_group)

    async def group(self, group_id: str) -> Group:
        gid = segment(group_id)
        record, members = await gather(self.http.get(f"/api/v1/groups/{gid}"), self.members(gid))
        return map_group(self.record(record), members)

    async def members(self, gid: str) -> list[Any]:
        found: list[Any] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            data, headers = await self.http.get_with_headers(
                f"/api/v1/groups/{gid}/users", {"limit": 1000, "after": after}
            )
            rows = self.records(data)
            found += [map_member(r) for r in rows]
            after = next_after(headers.get("link")) if rows else None
            if after is None:
                return found
            if after in seen:
                raise self.malformed("a members cursor that moves on (it repeated)")
            seen.add(after)

    # --- roles -----------------------------------------------------------------------------------

    def roles(self) -> Listing[Role]:
        """The standard admin role types (account), then the org's custom roles."""

        async def standard(state: State) -> Chunk[Role]:
            return Chunk(standard_roles(), Step(None))

        async def custom(state: State) -> Chunk[Role]:
            document = await self.http.get("/api/v1/iam/roles")
            rows = document.get("roles") if isinstance(document, dict) else None
            if not isinstance(rows, list) or not all(isinstance(r, dict) and "id" in r for r in rows):
                raise self.malformed("roles, a list of custom roles")
            return Chunk(rows, Step(None), map_custom_role)

        return chained(Listing(standard, WHOLE), Listing(custom, WHOLE))

    async def ping(self) -> None:
        self.records(await self.http.get(self.spec.ping))


def quoted(value: str) -> str:
    """A value in a search expression: a JSON string (quotes and backslashes escaped)."""
    return json.dumps(value, ensure_ascii=False)


def next_link_after(links: dict[str, Any]) -> str | None:
    """The `after` cursor of a body's `_links.next.href` (the assignees list)."""
    following = links.get("next")
    return after_of(following.get("href")) if isinstance(following, dict) else None


OKTA = Provider(SPEC, Okta)
