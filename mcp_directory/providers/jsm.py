"""Jira Service Management Operations (`jsm`), Opsgenie's successor: four Atlassian APIs as one provider.

- the Jira site, `{JSM_SITE_URL}/rest/api/3/...`: users, application roles (roles, licenses), me,
  admin permission, user creation; Basic `base64(email:token)`;
- the Teams public API on the site, `/gateway/api/public/teams/v1/org/{orgId}/...`: a team's
  details, its members (POST reads, paged by the cursor `after`), membership writes; Basic;
- the Ops API, `{JSM_API_URL}/jsm/ops/api/{cloudId}/v1/...`: which teams are enabled for
  Operations (our groups) and the Ops custom roles; the same Basic credential; the cloudId is
  `JSM_CLOUD_ID` or read once from `{site}/_edge/tenant_info`;
- the org admin API, `{JSM_API_URL}/admin/...`, only with `JSM_ORG_API_KEY` (Bearer): emails that
  profiles hide, suspended access (Jira still says `active: true`), last activity, and suspension,
  which is what deactivating means here.

Each API has its own client with its own credential (`jsm_apis.py`), so one credential never
reaches another API; the mapping is in `jsm_mapping.py`. Quirks handled here:
- Jira lists are bare arrays without a total, paged by `startAt`/`maxResults` until an empty page;
  app and customer accounts are mixed in and never shown;
- team membership writes answer 200 even when they fail for a member: their `errors` list decides
  (already a member on add, or not a member on remove, is the same idempotent success as elsewhere);
- roles and is_admin cost a request per user, so list pages leave them null (SPEC §11).
"""

from __future__ import annotations

from typing import Any, ClassVar

import anyio

from ..aio import gather
from ..errors import Conflict, Forbidden, InvalidArgument, NotFound, Unsupported
from ..http import segment
from ..models import Deactivation, Group, License, Role, User, same_email
from ..paging import Chunk, Listing, chained
from ..spec import WHOLE, Offset, ProviderSpec, Setting, State, Step, UntilEmpty
from .base import Provider
from .jsm_apis import AtlassianApis
from .jsm_mapping import (
    application_roles,
    basic_authorization,
    error_text,
    is_person,
    map_application_role,
    map_custom_role,
    map_license,
    map_member,
    map_team,
    map_team_details,
    map_user,
    offset_of,
    reset_wait,
)
from .jsm_oncall import JsmOnCall


def _derived(values: dict[str, str] | Any) -> tuple[str, ...]:
    email, token = values.get("email"), values.get("credential")
    return (basic_authorization(email, token),) if email and token else ()


SPEC = ProviderSpec(
    name="jsm",
    title="Jira Service Management",
    settings=(
        Setting("base_url", "JSM_SITE_URL", "the site, e.g. https://acme.atlassian.net", url=True),
        Setting("email", "JSM_EMAIL", "the email of the Atlassian account whose API token is JSM_API_TOKEN"),
        Setting("credential", "JSM_API_TOKEN", "that account's API token (Basic with JSM_EMAIL)", secret=True),
        Setting("org_id", "JSM_ORG_ID", "the Atlassian organization id (Teams and org admin API paths)"),
        Setting(
            "api_url",
            "JSM_API_URL",
            "Atlassian's API host: the Ops API below /jsm/ops/api/{cloudId}, the org admin API below /admin",
            "https://api.atlassian.com",
            url=True,
        ),
        Setting(
            "cloud_id", "JSM_CLOUD_ID", "the site's cloud id (default: read from /_edge/tenant_info)", required=False
        ),
        Setting(
            "org_key",
            "JSM_ORG_API_KEY",
            "org admin API key: hidden emails, suspended access, last activity, deactivation",
            required=False,
            secret=True,
        ),
    ),
    api_root="",
    auth_scheme="Basic",
    content_type="application/json",
    paginator=UntilEmpty(offset_param="startAt", limit_param="maxResults", max_size=1000),
    page_size=100,
    rate_limit_headers=("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit-reason"),
    requests_per_minute=None,  # burst limits for API tokens, no published number (FACTS)
    proxy_prefix="/rest/api/3/",
    proxy_roots=("/gateway/api/public/teams/", "/v1/"),
    concurrent_pages=1,  # bare arrays: the next page is known only once this one is read
    user_delete="suspended",
    group_admins=False,  # no public Atlassian API makes a team admin
    ping="/rest/api/3/myself",
    retry_after_from=reset_wait,
    error_text=error_text,
    derived_secrets=_derived,
    create_note=(
        "Jira Service Management's API cannot set names: the account keeps the name Atlassian has for "
        "that email (the person sets it when accepting the invitation)."
    ),
)

SEARCH_CAP = 1000  # user/search answers up to the thousandth match

ROLE_PAGES = Offset(
    offset_param="offset",
    limit_param="size",
    next_offset=lambda document: offset_of((document.get("links") or {}).get("next")),
    max_size=100,
)


class Jsm(JsmOnCall, AtlassianApis):
    missing: ClassVar[dict[str, str]] = {
        "incident_roles": "Jira Service Management Operations has no incident roles in this directory",
        "assign_incident_role": "Jira Service Management Operations has no incident roles in this directory",
        "unassign_incident_role": "Jira Service Management Operations has no incident roles in this directory",
    }

    def unable(self, operation: str) -> str | None:
        """Deactivating exists only with the org admin API key (an optional setting)."""
        if operation == "deactivate_user" and self.admin is None:
            return (
                "deactivating a Jira Service Management user suspends its access through the Atlassian org "
                f"admin API, which needs an org API key: the operator can set {self.spec.setting('org_key').env}"
            )
        return None

    # --- users ------------------------------------------------------------------------------------

    def users(self, *, search: str | None, email: str | None) -> Listing[User]:
        """Every person (`users/search`), or those `user/search?query=` finds; app and customer
        accounts are left out. An email is looked up whole (`by_email`)."""
        if email:
            return self.by_email(email, search)
        path = "/rest/api/3/user/search" if search else "/rest/api/3/users/search"
        paginator = self.spec.paginator

        async def fetch(state: State) -> Chunk[User]:
            document, accounts = await gather(
                self.site.get(path, {"query": search, **paginator.params(state)}), self.accounts()
            )
            rows = self.records(document)
            people = [map_user(r, (accounts or {}).get(r["accountId"])) for r in rows if is_person(r)]
            return Chunk(people, paginator.follow(state, document, len(rows)))

        return Listing(fetch, paginator, min(self.page_size, paginator.max_size), resize=False)

    def by_email(self, email: str, search: str | None) -> Listing[User]:
        """The people with this email (SPEC §4 identity), in one answer: what `user/search` finds
        (active accounts only, its matches capped at 1000), and with the org key also the accounts
        the org API has under that email (hidden from the profile, or inactive in Jira)."""
        needle = (search or "").casefold()

        async def fetch(state: State) -> Chunk[User]:
            accounts = await self.accounts() or {}
            found: dict[str, User] = {}
            start = 0
            while start < SEARCH_CAP:
                params = {"query": email, "startAt": start, "maxResults": 100}
                rows = self.records(await self.site.get("/rest/api/3/user/search", params))
                for user in (map_user(r, accounts.get(r["accountId"])) for r in rows if is_person(r)):
                    if same_email(user.email, email):
                        found[user.id] = user
                if not rows:
                    break
                start += len(rows)
            for account_id, account in accounts.items():
                if account_id not in found and same_email(account.get("email"), email):
                    try:
                        record = self.record(await self.site.get("/rest/api/3/user", {"accountId": account_id}))
                    except NotFound:  # an org account without access to this site
                        continue
                    if is_person(record):
                        found[account_id] = map_user(record, account)
            people = [u for u in found.values() if needle in f"{u.name or ''} {u.email or ''}".casefold()]
            return Chunk(people, Step(None, None))

        return Listing(fetch, WHOLE)

    async def user(self, user_id: str) -> User:
        if not user_id or len(user_id) > 128:
            raise InvalidArgument(f"{user_id[:64]!r} is not a Jira account id", provider=self.name)
        document = await self.site.get("/rest/api/3/user", {"accountId": user_id, "expand": "groups,applicationRoles"})
        return await self.completed(self.record(document), user_id)

    async def me(self) -> User:
        document = await self.site.get("/rest/api/3/myself", {"expand": "groups,applicationRoles"})
        return await self.completed(self.record(document), None)

    async def completed(self, record: dict[str, Any], asked: str | None) -> User:
        """A person with roles, admin flag, Ops teams and org data (a few requests, hence only here)."""
        if not is_person(record):
            raise NotFound(
                f"{asked or 'the credential'} is an app or customer account, not a person of the directory",
                provider=self.name,
            )
        account_id = record["accountId"]
        admin, teams, accounts = await gather(self.is_admin(asked), self.teams_of(account_id), self.accounts())
        roles = application_roles(record)
        return map_user(record, (accounts or {}).get(account_id), roles=roles, is_admin=admin, group_ids=teams)

    async def teams_of(self, account_id: str) -> list[str]:
        """The Ops teams the account is in: no API answers this, so each team's members are read."""
        teams = await self.ops_teams()
        limit = anyio.Semaphore(4)

        async def member(team: str) -> bool:
            async with limit:
                return account_id in await self.member_ids(team)

        found = await gather(*(member(t.id) for t in teams))
        return [t.id for t, yes in zip(teams, found, strict=True) if yes]

    # --- groups: Ops-enabled teams ----------------------------------------------------------------

    def groups(self, *, search: str | None) -> Listing[Group]:
        teams = self.listed(
            self.ops, lambda: self.ops_path("/v1/teams"), {}, lambda d: map_team, WHOLE, "platformTeams"
        )
        return self.matching(teams, lambda g: search.casefold() in g.name.casefold()) if search else teams

    async def group(self, group_id: str) -> Group:
        cloud = await self.cloud()
        team, ids, accounts = await gather(
            self.site.get(self.teams_path(group_id), {"siteId": cloud}), self.member_ids(group_id), self.accounts()
        )
        users = await self.people(ids) if ids else {}
        members = [
            map_member(i, users.get(i), (accounts or {}).get(i))
            for i in ids
            if i not in users or is_person(users[i])  # app accounts in a team are not people
        ]
        return map_team_details(self.record(team), members)

    # --- roles and licenses -----------------------------------------------------------------------

    def roles(self) -> Listing[Role]:
        """The application roles, then the Ops custom user roles."""
        applications = self.listed(self.site, "/rest/api/3/applicationrole", {}, lambda d: map_application_role, WHOLE)
        custom = self.listed(
            self.ops, lambda: self.ops_path("/v1/roles"), {}, lambda d: map_custom_role, ROLE_PAGES, "values"
        )
        return chained(applications, custom)

    async def licenses(self) -> list[License]:
        return [map_license(r) for r in self.records(await self.site.get("/rest/api/3/applicationrole"))]

    # --- writes -----------------------------------------------------------------------------------

    async def membership(self, group_id: str, user_id: str, action: str) -> Group | None:
        """Teams `members/add` or `members/remove` for one account. Both answer 200 even when
        they fail for it: the `errors` list decides."""
        body = {"members": [{"accountId": user_id}]}
        document = await self.site.write("POST", self.teams_path(group_id, f"/members/{action}"), body)
        errors = self.records(document, "errors") if isinstance(document, dict) else []
        for error in (e for e in errors if e.get("accountId") in (None, user_id)):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
            said = f"{code} {message}".upper().replace(" ", "_")
            if ("ALREADY" in said and action == "add") or ("NOT_A_MEMBER" in said and action == "remove"):
                continue  # already so: the same idempotent success as elsewhere
            kind = (
                NotFound
                if "NOT_FOUND" in said
                else Forbidden
                if "FORBIDDEN" in said or "PERMISSION" in said
                else Conflict
            )
            raise kind(
                f"{self.spec.title} did not {action} member {user_id} of team {group_id}: {message or code}",
                provider=self.name,
                status=200,
            )
        return await self.read_back(lambda: self.group(group_id))

    async def add_group_member(self, group_id: str, user_id: str, role: str) -> Group | None:
        if role == "admin":
            raise Unsupported(
                "no public Atlassian API makes a team admin; add the user as a member (role member)", provider=self.name
            )
        return await self.membership(group_id, user_id, "add")

    async def remove_group_member(self, group_id: str, user_id: str) -> Group | None:
        return await self.membership(group_id, user_id, "remove")

    async def create_user(self, email: str, first_name: str, last_name: str, role: str | None) -> User | None:
        if role:
            raise InvalidArgument(
                "Jira Service Management users get product access (jira-servicedesk) when created, not a role; "
                "omit role",
                provider=self.name,
            )
        body = {"emailAddress": email, "products": ["jira-servicedesk"]}
        created = await self.site.write("POST", "/rest/api/3/user", body)

        async def read_created() -> User:
            account_id = self.record(created).get("accountId")
            if not isinstance(account_id, str):
                raise self.malformed("the new user's accountId")
            return await self.user(account_id)

        return await self.read_back(read_created)

    async def deactivate_user(self, user_id: str) -> Deactivation:
        """Suspends the account's access in the org's directories (the account stays, restorable)."""
        if self.admin is None:  # the directory turns this away first (`unable`); never sent without the key
            raise Unsupported(self.unable("deactivate_user") or "", provider=self.name)
        path = f"/v2/orgs/{self.org_id}/directories/-/users/{segment(user_id)}/suspend"
        await self.admin.write("POST", path)
        self.forget_accounts()
        return Deactivation(user_id=user_id, action="suspended", user=await self.read_back(lambda: self.user(user_id)))


JSM = Provider(SPEC, Jsm)
