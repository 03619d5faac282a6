"""The seeded directory the simulated providers serve.

`build_world(seed, people)` (registry.py) is a pure function of its arguments: every random choice comes from
`random.Random` instances derived from the seed, and every timestamp is an offset from a fixed
epoch, so two worlds built from the same arguments compare equal.

The people are generated here; each provider module turns the people who hold an account with
it into that provider's own records (`seed_rootly`, `seed_opsgenie`, `seed_retool`).
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mcp_directory.providers import PROVIDERS as _PROVIDERS

PROVIDERS = tuple(p.name for p in _PROVIDERS)
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

DOMAINS = ("acme.com", "acme.com", "acme.com", "acme.io", "globex.com")

FIRST_NAMES = (
    "Alice",
    "Bob",
    "Carol",
    "David",
    "Emma",
    "Frank",
    "Grace",
    "Henry",
    "Isla",
    "Jack",
    "Karen",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rahul",
    "Sara",
    "Tom",
    "Uma",
    "Victor",
    "Wendy",
    "Xavier",
    "Yusuf",
    "Zara",
    "Aisha",
    "Ben",
    "Chloe",
    "Diego",
    "Elena",
    "Farah",
    "George",
    "Hana",
    "Ivan",
    "Julia",
    "Kenji",
    "Lucia",
    "Marco",
    "Nina",
)
LAST_NAMES = (
    "Nguyen",
    "Smith",
    "Johnson",
    "Patel",
    "Garcia",
    "Kim",
    "Brown",
    "Chen",
    "Okafor",
    "Rossi",
    "Schmidt",
    "Silva",
    "Haddad",
    "Novak",
    "Walsh",
    "Kowalski",
    "Fischer",
    "Tanaka",
    "Murphy",
    "Lopez",
    "Singh",
    "Cohen",
    "Dubois",
    "Larsen",
    "Moreau",
    "Adeyemi",
    "O'Brien",
    "Reyes",
)
# (first, last, ASCII email local part): names that are not ASCII.
NON_ASCII_NAMES = (
    ("José", "Müller", "jose.muller"),
    ("Zoë", "Ångström", "zoe.angstrom"),
    ("雷", "李", "lei.li"),
    ("Søren", "Kierkegaard", "soren.kierkegaard"),
    ("Haruto", "Ōtsuka", "haruto.otsuka"),
    ("François", "Lefèvre", "francois.lefevre"),
    ("Ewa", "Łukasiewicz", "ewa.lukasiewicz"),
    ("Björn", "Þórsson", "bjorn.thorsson"),
    ("芳", "王", "fang.wang"),
    ("Chloé", "Dürr", "chloe.durr"),
)


@dataclass
class SeedPerson:
    """One human. `email` is the lowercase canonical form; `provider_emails` holds the letter case
    each provider stores; `accounts` maps provider -> that provider's user id; `disabled` names the
    providers where the account is switched off (each says it its own way: Retool `active: false`,
    Opsgenie `blocked: true`)."""

    email: str
    first_name: str
    last_name: str
    accounts: dict[str, str] = field(default_factory=dict)
    provider_emails: dict[str, str] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)


@dataclass
class World:
    """The people, and each provider's records of them (`world.directories[name]`, also `world.<name>`)."""

    seed: int
    people: list[SeedPerson]
    directories: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        directories = self.__dict__.get("directories") or {}
        if name in directories:
            return directories[name]
        raise AttributeError(name)

    def person_by_email(self, email: str) -> SeedPerson | None:
        wanted = email.lower()
        return next((p for p in self.people if p.email == wanted), None)


# --- helpers the provider seeders share -------------------------------------------------------


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def instant(rng: random.Random, *, start_days: float = 0, span_days: float = 365) -> datetime:
    """A moment `start_days`..`start_days+span_days` after the epoch, to the millisecond."""
    ms = rng.randrange(int(span_days * 86_400_000))
    return EPOCH + timedelta(days=start_days, milliseconds=ms)


def iso_z(moment: datetime) -> str:
    """2024-03-05T10:11:12.123Z (Opsgenie, Retool)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_offset(moment: datetime, hours: int = -7) -> str:
    """2024-03-05T03:11:12.123-07:00 (Rootly shows the account's zone offset)."""
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat(timespec="milliseconds")


# --- people -------------------------------------------------------------------------------------


def _case_variant(email: str, style: str) -> str:
    local, domain = email.split("@")
    if style == "upper":
        return email.upper()
    return ".".join(part[:1].upper() + part[1:] for part in local.split(".")) + "@" + domain


def make_people(rng: random.Random, count: int) -> list[SeedPerson]:
    non_ascii = list(NON_ASCII_NAMES)
    rng.shuffle(non_ascii)
    wanted = min(count, len(non_ascii), max(3, count // 8))
    non_ascii_slots = set(rng.sample(range(count), wanted))
    people: list[SeedPerson] = []
    next_suffix: dict[str, int] = {}  # base email -> next free numeric suffix (O(1) per person)
    for index in range(count):
        if index in non_ascii_slots:
            first, last, local = non_ascii.pop()
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{first}.{last}".lower().replace("'", "")
        domain = rng.choice(DOMAINS)
        base = f"{local}@{domain}"
        n = next_suffix.get(base)  # locals hold no digits, so suffixed forms never meet a base
        email = base if n is None else f"{local}{n}@{domain}"
        next_suffix[base] = 2 if n is None else n + 1
        people.append(SeedPerson(email=email, first_name=first, last_name=last))
    return people


def assign_accounts(rng: random.Random, people: list[SeedPerson], providers: Sequence[str] = PROVIDERS) -> None:
    """40% in all three providers, 35% in two, 25% in one (pairs and singles rotate so each
    provider holds ~70%); some emails change letter case between providers. `providers`: those
    whose accounts people hold directly (a provider migrated from another follows its source)."""
    count = len(people)
    three, two = round(count * 0.40), round(count * 0.35)
    tiers = [3] * three + [2] * two + [1] * (count - three - two)
    rng.shuffle(tiers)
    pairs = [list(pair) for pair in itertools.combinations(providers, 2)]
    singles = [[p] for p in providers]
    rng.shuffle(pairs)
    rng.shuffle(singles)
    rotation = {3: itertools.repeat(list(providers)), 2: itertools.cycle(pairs), 1: itertools.cycle(singles)}
    forced_variants = 3
    for person, tier in zip(people, tiers, strict=True):
        chosen = next(rotation[tier])
        person.provider_emails = {p: person.email for p in chosen}
        if len(chosen) > 1 and (forced_variants > 0 or rng.random() < 0.25):
            forced_variants -= 1
            target = rng.choice(chosen[1:])
            person.provider_emails[target] = _case_variant(person.email, rng.choice(("title", "upper")))
    for provider in providers:  # tiny worlds: every provider still has someone
        if not any(provider in p.provider_emails for p in people):
            people[0].provider_emails[provider] = people[0].email


def disable_accounts(rng: random.Random, people: list[SeedPerson], switchable: list[str], *, mixed: int = 5) -> None:
    """Switch some accounts off, in the providers whose accounts can be off rather than only gone.

    `mixed` people with accounts in two or more providers lose exactly one switchable account and
    stay active elsewhere (what `access_review mixed_status=true` finds), the first of them one
    whose emails differ in letter case between providers, and the switched-off providers take
    turns so each of them has some. Two more people, each with one account, are off there: the
    disabled who are disabled everywhere they are."""
    if not switchable:
        return
    several = [p for p in people if len(p.provider_emails) > 1 and any(s in p.provider_emails for s in switchable)]
    variants = [p for p in several if len(set(p.provider_emails.values())) > 1]
    chosen = rng.sample(variants, min(1, len(variants)))
    others = [p for p in several if p not in chosen]
    chosen += rng.sample(others, min(mixed - len(chosen), len(others)))
    for turn, person in enumerate(chosen):
        options = [s for s in switchable if s in person.provider_emails]
        person.disabled = {next((s for s in options if s == switchable[turn % len(switchable)]), options[0])}
    alone = [p for p in people if len(p.provider_emails) == 1 and set(p.provider_emails) <= set(switchable)]
    for person in rng.sample(alone, min(2, len(alone))):
        person.disabled = set(person.provider_emails)


# --- employment: what the identity provider knows (SPEC §14) -----------------------------------


def employment(rng: random.Random, people: list[SeedPerson]) -> dict[str, str]:
    """Each person's standing by email: `employee`, `left` (deprovisioned in the identity
    provider, yet still holding tool accounts: an orphan), `suspended`, or `contractor` (tool
    accounts, no identity account). Leavers are picked among people whose tool accounts are all
    still on, so the tools' own statuses cannot tell they left. Its own random stream: the
    providers' records do not change."""
    order = list(range(len(people)))
    rng.shuffle(order)
    count = len(people)
    contractors = max(1, round(count * 0.07)) if count >= 4 else 0
    leavers = max(1, round(count * 0.08)) if count >= 3 else 0
    suspended = (2 if count >= 40 else 1) if count >= 5 else 0
    kinds = {p.email: "employee" for p in people}
    enabled = [i for i in order if not people[i].disabled]
    for i in enabled[:leavers]:
        kinds[people[i].email] = "left"
    rest = [i for i in order if kinds[people[i].email] == "employee"]
    for i in rest[:suspended]:
        kinds[people[i].email] = "suspended"
    for i in rest[suspended : suspended + contractors]:
        kinds[people[i].email] = "contractor"
    return kinds


def new_hires(rng: random.Random, people: list[SeedPerson], count: int = 3) -> list[SeedPerson]:
    """People who start soon: known to the identity provider, with no tool account yet."""
    taken = {p.email for p in people}
    hires: list[SeedPerson] = []
    while len(hires) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.new{len(hires) + 1}@acme.com".lower().replace("'", "")
        if email not in taken:
            taken.add(email)
            hires.append(SeedPerson(email=email, first_name=first, last_name=last))
    return hires
