"""The simulated Okta org against Okta's published spec subsets (provider_specs/okta/) and FACTS.md:
bare arrays with Link paging, the default list without the deprovisioned, search expressions, the
assignees list paged in its body, the token endpoint's private_key_jwt checks, the error shapes,
scopes and admin role, rate-limit headers and 429s."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mcp_directory.providers.okta_mapping import next_after
from mcp_directory.sim import DEMO_TOKENS, SimOptions, build_app, build_world
from mcp_directory.sim.okta_seed import CLIENT_ID, DEMO_KEY, OktaClient, public_pem
from tests.support import assert_valid, sim_client, validator

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("provider_specs")]
TOKEN = DEMO_TOKENS["okta"]
BASE = "http://okta.test"


def okta_schema(path: str, status: str = "200") -> Any:
    return validator("okta", "paths", path, "get", "responses", status, "content", "application/json", "schema")


def error_schema() -> Any:
    return validator("okta", "components", "schemas", "Error")


def oauth_schema(status: str) -> Any:
    return validator(
        "okta-oauth", "paths", "/oauth2/v1/token", "post", "responses", status, "content", "application/json", "schema"
    )


@pytest.fixture
def world():
    return build_world(seed=7, people=45)


@pytest.fixture
def app(world):
    return build_app("okta", world, SimOptions(token=TOKEN))


async def get(app, path: str, *, token: str | None = TOKEN, headers: dict[str, str] | None = None, status: int = 200):
    async with sim_client(app, "okta", token, headers) as client:
        response = await client.get(path)
    assert response.status_code == status, response.text
    return response


async def walk(app, path: str) -> tuple[list[dict[str, Any]], int]:
    """Every page of a Link-paged list; returns the records and the number of pages."""
    records: list[dict[str, Any]] = []
    pages, url = 0, path
    while url and pages < 1000:
        response = await get(app, url)
        records += response.json()
        pages += 1
        after = next_after(response.headers.get("link"))
        url = f"{path}{'&' if '?' in path else '?'}after={after}" if after else None
    return records, pages


async def test_users_list_hides_the_deprovisioned_and_pages_by_link(world, app):
    first = await get(app, "/api/v1/users?limit=7")
    assert_valid(okta_schema("/api/v1/users"), first.json())
    assert 'rel="self"' in first.headers["link"] and 'rel="next"' in first.headers["link"]
    users, pages = await walk(app, "/api/v1/users?limit=7")
    expected = {u["id"] for u in world.okta.users.values() if u["status"] != "DEPROVISIONED"}
    assert {u["id"] for u in users} == expected and len(users) == len(expected)
    assert pages == -(-len(expected) // 7)
    gone, _ = await walk(app, '/api/v1/users?search=status eq "DEPROVISIONED"')
    assert gone and {u["status"] for u in gone} == {"DEPROVISIONED"}
    assert len(gone) + len(users) == len(world.okta.users)


async def test_limit_is_capped_at_200_and_bad_limits_are_400(world, app):
    big = build_world(seed=3, people=260)
    big_app = build_app("okta", big, SimOptions(token=TOKEN))
    page = await get(big_app, "/api/v1/users?limit=500")
    assert len(page.json()) == 200 and next_after(page.headers["link"])
    for bad in ("0", "x"):
        body = (await get(app, f"/api/v1/users?limit={bad}", status=400)).json()
        assert_valid(error_schema(), body)
        assert body["errorCode"] == "E0000001"


async def test_search_expressions(world, app):
    person = next(u for u in world.okta.users.values() if u["status"] == "ACTIVE")
    email = person["profile"]["email"]
    found = (await get(app, f'/api/v1/users?search=profile.email eq "{email.upper()}"')).json()
    assert [u["id"] for u in found] == [person["id"]]
    first = person["profile"]["firstName"]
    starts = (await get(app, f'/api/v1/users?search=profile.firstName sw "{first[:2].lower()}"')).json()
    assert person["id"] in {u["id"] for u in starts}
    assert all(u["profile"]["firstName"].lower().startswith(first[:2].lower()) for u in starts)
    both = (await get(app, '/api/v1/users?search=status eq "SUSPENDED" or status eq "DEPROVISIONED"')).json()
    assert {u["status"] for u in both} == {"SUSPENDED", "DEPROVISIONED"}
    for bad in ('status ne "ACTIVE"', 'status eq "ACTIVE" and', 'profile.title co "x"', "status eq ACTIVE"):
        body = (await get(app, f"/api/v1/users?search={bad}", status=400)).json()
        assert_valid(error_schema(), body)
        assert body["errorCode"] == "E0000031"


async def test_q_is_unpaged_and_leaves_the_deprovisioned_out(world, app):
    gone = next(u for u in world.okta.users.values() if u["status"] == "DEPROVISIONED")
    response = await get(app, f"/api/v1/users?q={gone['profile']['email']}")
    assert gone["id"] not in {u["id"] for u in response.json()} and "link" not in response.headers


async def test_single_user_me_groups_and_roles_match_the_spec(world, app):
    for uid in [*list(world.okta.users)[:5], world.okta.me_id]:
        assert_valid(okta_schema("/api/v1/users/{id}"), (await get(app, f"/api/v1/users/{uid}")).json())
        assert_valid(okta_schema("/api/v1/users/{id}/groups"), (await get(app, f"/api/v1/users/{uid}/groups")).json())
    me = (await get(app, "/api/v1/users/me")).json()
    assert me["id"] == world.okta.me_id
    for uid, assignments in world.okta.roles.items():
        body = (await get(app, f"/api/v1/users/{uid}/roles")).json()
        assert body == assignments and body
        for role in body:
            kind = "CustomRole" if role["type"] == "CUSTOM" else "StandardRole"
            assert_valid(validator("okta", "components", "schemas", kind), role)
    missing = (await get(app, "/api/v1/users/00unobody", status=404)).json()
    assert_valid(okta_schema("/api/v1/users/{id}", "404"), missing)
    assert missing["errorCode"] == "E0000007"


async def test_groups_include_everyone_and_members_page(world, app):
    groups = (await get(app, "/api/v1/groups")).json()
    assert_valid(okta_schema("/api/v1/groups"), groups)
    assert [g["profile"]["name"] for g in groups if g["type"] == "BUILT_IN"] == ["Everyone"]
    for group in groups:
        assert_valid(okta_schema("/api/v1/groups/{groupId}"), (await get(app, f"/api/v1/groups/{group['id']}")).json())
        members, _ = await walk(app, f"/api/v1/groups/{group['id']}/users?limit=3")
        assert [m["id"] for m in members] == sorted(world.okta.members[group["id"]])
        assert_valid(okta_schema("/api/v1/groups/{groupId}/users"), members)


async def test_assignees_page_in_the_body(world, app):
    ids: list[str] = []
    url: str | None = "/api/v1/iam/assignees/users?limit=2"
    pages = 0
    while url and pages < 100:
        body = (await get(app, url)).json()
        assert_valid(okta_schema("/api/v1/iam/assignees/users"), body)
        ids += [v["id"] for v in body["value"]]
        url = body["_links"].get("next", {}).get("href", "").removeprefix(BASE) or None
        pages += 1
    assert sorted(ids) == sorted(u for u, r in world.okta.roles.items() if r) and pages > 1


async def test_rate_limit_headers_and_a_429(world):
    app = build_app("okta", world, SimOptions(token=TOKEN, rate_limit=2))
    for _ in range(2):
        ok = await get(app, "/api/v1/groups")
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(ok.headers)
    refused = await get(app, "/api/v1/groups", status=429)
    assert_valid(error_schema(), refused.json())
    assert refused.json()["errorCode"] == "E0000047"
    assert (
        refused.headers["x-rate-limit-remaining"] == "0" and int(refused.headers["x-rate-limit-reset"]) >= time.time()
    )


async def test_ssws_errors(app):
    body = (await get(app, "/api/v1/users", token="wrong", status=401)).json()
    assert_valid(error_schema(), body)
    assert body["errorCode"] == "E0000011"


# --- the service app -----------------------------------------------------------------------------


def assertion(key: Any, *, client: str = CLIENT_ID, aud: str = f"{BASE}/oauth2/v1/token", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    body.update(claims)
    algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    return jwt.encode(body, key, algorithm=algorithm)


async def token_call(app, signed: str, scope: str = "okta.users.read okta.groups.read", status: int = 200) -> Any:
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    }
    async with sim_client(app, "okta", None) as client:
        response = await client.post("/oauth2/v1/token", data=form)
    assert response.status_code == status, response.text
    assert_valid(oauth_schema(str(status)), response.json())
    return response.json()


async def test_a_signed_assertion_gets_a_token_that_reads_within_its_scopes(world, app):
    granted = await token_call(app, assertion(DEMO_KEY))
    assert granted["token_type"] == "Bearer" and granted["expires_in"] == 3600
    assert granted["scope"] == "okta.users.read okta.groups.read"
    bearer = {"Authorization": f"Bearer {granted['access_token']}"}
    assert (await get(app, "/api/v1/users?limit=2", token=None, headers=bearer)).json()
    refused = (await get(app, "/api/v1/iam/assignees/users", token=None, headers=bearer, status=403)).json()
    assert refused["errorCode"] == "E0000006" and "okta.roles.read" in refused["errorCauses"][0]["errorSummary"]
    assert (await get(app, "/api/v1/users/me", token=None, headers=bearer, status=404)).json()[
        "errorCode"
    ] == "E0000007"


async def test_an_rsa_key_signs_too(world, app):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    world.okta.clients["0oarsa"] = OktaClient(public_key=public_pem(key))
    assert (await token_call(app, assertion(key, client="0oarsa")))["access_token"]


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: assertion(ec.generate_private_key(ec.SECP256R1())), "signature is invalid"),
        (lambda: assertion(DEMO_KEY, exp=int(time.time()) - 10), "expired"),
        (lambda: assertion(DEMO_KEY, aud="http://okta.test/oauth2/default/v1/token"), "audience"),
        (lambda: assertion(DEMO_KEY, client="0oaunknown"), "unknown 'iss'"),
        (lambda: assertion(DEMO_KEY, sub="someone-else"), "'sub'"),
        (lambda: assertion(DEMO_KEY, exp=int(time.time()) + 7200), "too far"),
        (lambda: "not-a-jwt", "not a valid JWT"),
    ],
)
async def test_a_bad_assertion_is_invalid_client(app, make, said):
    body = await token_call(app, make(), status=401)
    assert body["error"] == "invalid_client" and said in body["error_description"]


async def test_a_replayed_assertion_a_refused_scope_dpop_and_grant(world, app):
    signed = assertion(DEMO_KEY)
    await token_call(app, signed)
    assert "already been used" in (await token_call(app, signed, status=401))["error_description"]
    scope = await token_call(app, assertion(DEMO_KEY), scope="okta.users.manage", status=400)
    assert scope["error"] == "invalid_scope" and "okta.users.manage" in scope["error_description"]
    world.okta.clients[CLIENT_ID].dpop = True
    assert (await token_call(app, assertion(DEMO_KEY), status=400))["error"] == "invalid_dpop_proof"


async def test_an_expired_token_and_an_app_without_admin_role(world, app):
    world.okta.token_lifetime = 0
    expired = await token_call(app, assertion(DEMO_KEY))
    body = (
        await get(
            app, "/api/v1/users", token=None, headers={"Authorization": f"Bearer {expired['access_token']}"}, status=401
        )
    ).json()
    assert body["errorCode"] == "E0000011"
    world.okta.token_lifetime = 3600
    world.okta.clients[CLIENT_ID].admin_role = False
    granted = await token_call(app, assertion(DEMO_KEY))
    bearer = {"Authorization": f"Bearer {granted['access_token']}"}
    refused = (await get(app, "/api/v1/users", token=None, headers=bearer, status=403)).json()
    assert_valid(okta_schema("/api/v1/users", "403"), refused)
    assert refused["errorCode"] == "E0000006"


async def test_a_broken_record_is_rejected_by_the_validator(world):
    user = dict(next(iter(world.okta.users.values())), status="GONE")
    assert list(okta_schema("/api/v1/users").iter_errors([user]))


def test_the_simulators_export_line_carries_the_service_app_key_on_one_line():
    import shlex

    from mcp_directory.config import Settings
    from mcp_directory.sim.__main__ import export_lines

    (line,) = export_lines({"okta": "http://127.0.0.1:4"}, DEMO_TOKENS)
    env = dict(word.split("=", 1) for word in shlex.split(line.removeprefix("export ")))
    settings = Settings.from_env(env)
    assert env["OKTA_CLIENT_ID"] == CLIENT_ID and "\n" not in line.replace("\\n", "")
    okta = settings.providers["okta"]
    from mcp_directory.providers.okta_signin import pem_text
    from mcp_directory.sim.okta_seed import private_pem

    assert pem_text(okta.get("private_key") or "") == private_pem(DEMO_KEY)
