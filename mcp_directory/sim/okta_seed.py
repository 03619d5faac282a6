"""Okta's seeded org: the identity provider that knows who still works here.

The seeder gets every person of the world (the registry marks Okta as the identity provider) and
builds the org a real company has (SPEC §14's demo world):
- most people have an Okta user, ACTIVE (a few LOCKED_OUT, PASSWORD_EXPIRED or in RECOVERY, which
  are still employed);
- some left: DEPROVISIONED, yet they still hold accounts in the tools (the orphans an auditor
  looks for), and one or two are SUSPENDED;
- contractors have tool accounts and no Okta user at all;
- new hires are STAGED or PROVISIONED in Okta before they have any tool account;
- the admin behind the SSWS API token is an Okta user of its own (`/users/me`);
- groups are OKTA_GROUPs plus the BUILT_IN Everyone (every user not deprovisioned); a few people
  hold standard admin roles, one a custom role;
- one service app (`CLIENT_ID`) signs in with `private_key_jwt`: its EC P-256 key is derived from
  a fixed seed (`DEMO_KEY`), so the world stays a pure function of its arguments and the demo
  can configure OKTA_PRIVATE_KEY before any world exists.

Who left, who is suspended and who is a contractor comes from `world.employment`; the records
here are Okta's own (`OktaDirectory.users` in Okta's JSON).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mcp_directory.sim.world import SeedPerson, employment, instant, iso_z, new_hires

CLIENT_ID = "0oa1demo2service3app4"  # the demo's service app (OKTA_CLIENT_ID)
ADMIN_EMAIL = "okta-admin@acme.com"  # the admin whose API token the demo uses (`/users/me`)
SCOPES = ("okta.users.read", "okta.groups.read", "okta.roles.read", "okta.apps.read")
GROUPS = (
    ("Engineering", "Everyone who builds the product"),
    ("Support", "Customer support"),
    ("On-call", "People who carry the pager"),
    ("Finance", "Finance and payroll"),
    ("Okta Admins", "Administrators of this org"),
)
STANDARD_ROLES = (  # (type, label): the admin roles some people hold
    ("SUPER_ADMIN", "Super Administrator"),
    ("ORG_ADMIN", "Organization Administrator"),
    ("READ_ONLY_ADMIN", "Read-only Administrator"),
    ("HELP_DESK_ADMIN", "Help Desk Administrator"),
)
CUSTOM_ROLES = (("Access Reviewer", "Reads users and groups for access reviews"), ("Group Helper", "Manages groups"))
EMPLOYED = ("ACTIVE",) * 12 + ("LOCKED_OUT", "PASSWORD_EXPIRED", "RECOVERY")
TIME_ZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo")


@dataclass
class OktaClient:
    """A service app: its public key (PEM), the scopes granted to it and whether it holds an
    admin role (without one, Okta answers every API call 403 E0000006)."""

    public_key: str
    scopes: tuple[str, ...] = SCOPES
    admin_role: bool = True
    dpop: bool = False  # "Require DPoP header in token requests"


@dataclass
class OktaDirectory:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Okta User
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Okta Group
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids
    roles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user id -> role assignments
    custom_roles: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> IamRole
    clients: dict[str, OktaClient] = field(default_factory=dict)  # service apps by client id
    me_id: str = ""  # the admin behind the API token
    token_lifetime: int = 3600  # seconds an access token lives (Okta: fixed at one hour)
    access_tokens: dict[str, tuple[float, str, tuple[str, ...]]] = field(
        default_factory=dict
    )  # -> (exp, client, scopes)
    used_jtis: set[str] = field(default_factory=set)
    version: int = 0

    def everyone_id(self) -> str:
        return next(g for g, r in self.groups.items() if r["type"] == "BUILT_IN")


def okta_id(rng: random.Random, prefix: str) -> str:
    """An Okta id: a three-letter prefix (`00u` users, `00g` groups) and 17 letters and digits."""
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(17))


def seeded_key(rng: random.Random) -> ec.EllipticCurvePrivateKey:
    """An EC P-256 key from the seed (deterministic, unlike key generation)."""
    order = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
    return ec.derive_private_key(rng.randrange(1, order), ec.SECP256R1())


DEMO_KEY = seeded_key(random.Random("okta demo service app"))  # the same in every world


def private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _user(rng: random.Random, first: str, last: str, email: str, status: str) -> dict[str, Any]:
    created = instant(rng, span_days=365)
    changed = instant(rng, start_days=400, span_days=300)
    login = None if status in ("STAGED", "PROVISIONED") else iso_z(instant(rng, start_days=500, span_days=200))
    activated = None if status in ("STAGED", "PROVISIONED") else iso_z(created)
    uid = okta_id(rng, "00u")
    return {
        "id": uid,
        "status": status,
        "created": iso_z(created),
        "activated": activated,
        "statusChanged": iso_z(changed) if status != "ACTIVE" else activated,
        "lastLogin": login,
        "lastUpdated": iso_z(changed),
        "passwordChanged": activated,
        "type": {"id": "oty1demo0usertype0g4"},
        "profile": {
            "firstName": first,
            "lastName": last,
            "mobilePhone": None,
            "secondEmail": None,
            "login": email,
            "email": email,
            "displayName": f"{first} {last}" if rng.random() < 0.7 else None,
            "timezone": rng.choice(TIME_ZONES),
        },
        "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": f"https://acme.okta.com/api/v1/users/{uid}"}},
    }


def _assignment(rng: random.Random, role_type: str, label: str, custom: str | None = None) -> dict[str, Any]:
    stamp = iso_z(instant(rng, span_days=300))
    record: dict[str, Any] = {
        "id": okta_id(rng, "ra1"),
        "label": label,
        "type": role_type,
        "status": "ACTIVE",
        "created": stamp,
        "lastUpdated": stamp,
        "assignmentType": "USER",
    }
    if custom:
        record |= {"role": custom, "resource-set": okta_id(rng, "iam")}
    return record


def _groups(rng: random.Random, out: OktaDirectory, admins: list[str]) -> None:
    stamp = iso_z(instant(rng, span_days=10))
    everyone = okta_id(rng, "00g")
    out.groups[everyone] = {
        "id": everyone,
        "created": stamp,
        "lastUpdated": stamp,
        "lastMembershipUpdated": stamp,
        "objectClass": ["okta:user_group"],
        "type": "BUILT_IN",
        "profile": {"name": "Everyone", "description": "All users in your organization"},
    }
    out.members[everyone] = [u for u, r in out.users.items() if r["status"] != "DEPROVISIONED"]
    users = list(out.users)
    for name, description in GROUPS:
        gid = okta_id(rng, "00g")
        out.groups[gid] = {**out.groups[everyone], "id": gid, "type": "OKTA_GROUP"}
        out.groups[gid]["profile"] = {"name": name, "description": description}
        out.groups[gid]["lastMembershipUpdated"] = iso_z(instant(rng, start_days=100, span_days=500))
        # group rules do not remove deactivated users: members may be DEPROVISIONED (FACTS §3)
        out.members[gid] = admins if name == "Okta Admins" else rng.sample(users, min(len(users), rng.randint(3, 12)))


def seed_okta(rng: random.Random, people: list[SeedPerson]) -> OktaDirectory:
    """The org, from every person of the world (see the module docstring)."""
    out = OktaDirectory()
    out.clients[CLIENT_ID] = OktaClient(public_key=public_pem(DEMO_KEY))
    kinds = employment(random.Random(rng.random()), people)
    for person in people:
        kind = kinds[person.email]
        if kind == "contractor":
            continue
        status = {"left": "DEPROVISIONED", "suspended": "SUSPENDED"}.get(kind) or rng.choice(EMPLOYED)
        record = _user(rng, person.first_name, person.last_name, person.email, status)
        out.users[record["id"]] = record
    for hire in new_hires(random.Random(rng.random()), people):
        record = _user(rng, hire.first_name, hire.last_name, hire.email, rng.choice(("STAGED", "PROVISIONED")))
        out.users[record["id"]] = record
    admin = _user(rng, "Okta", "Admin", ADMIN_EMAIL, "ACTIVE")
    out.me_id = admin["id"]
    out.users[admin["id"]] = admin
    out.roles[admin["id"]] = [_assignment(rng, "SUPER_ADMIN", "Super Administrator")]
    for name, description in CUSTOM_ROLES:
        rid = okta_id(rng, "cr0")
        stamp = iso_z(instant(rng, span_days=200))
        out.custom_roles[rid] = {"id": rid, "label": name, "description": description, "created": stamp}
        out.custom_roles[rid]["lastUpdated"] = stamp
    employed = [u for u, r in out.users.items() if r["status"] == "ACTIVE" and u != out.me_id]
    chosen = rng.sample(employed, min(len(employed), len(STANDARD_ROLES)))
    for uid, (role_type, label) in zip(chosen, STANDARD_ROLES[1:], strict=False):
        out.roles[uid] = [_assignment(rng, role_type, label)]
    if len(chosen) == len(STANDARD_ROLES):  # the last one holds a custom role
        rid, role = next(iter(out.custom_roles.items()))
        out.roles[chosen[-1]] = [_assignment(rng, "CUSTOM", role["label"], rid)]
    _groups(rng, out, [out.me_id, *chosen[:2]])
    return out
