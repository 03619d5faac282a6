"""What the distribution documents are made of, each read where it is defined: the project's
metadata from pyproject.toml, the version from `mcp_directory`, the settings a user fills in from
the providers' own settings, the tools from the registry."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import mcp_directory
from mcp_directory.config import TOOLSETS
from mcp_directory.providers import PROVIDERS, Provider
from mcp_directory.spec import ProviderSpec, Setting
from mcp_directory.tools import full_set
from mcp_directory.tools.schema import joined

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Project:
    """The package as PyPI knows it."""

    name: str
    version: str
    description: str
    license: str
    requires_python: str
    keywords: tuple[str, ...]
    urls: dict[str, str]

    @property
    def repository(self) -> str:
        return self.urls["Repository"]

    @property
    def registry_name(self) -> str:
        """The MCP registry's reverse-DNS name, `io.github.<owner>/<name>`: the namespace the registry
        grants to whoever signs in to GitHub as <owner> (from the Repository URL), and the name
        people install (`uvx <name>`)."""
        parts = urlsplit(self.repository)
        owner, _, repo = parts.path.strip("/").partition("/")
        if parts.netloc != "github.com" or not owner or not repo or "/" in repo:
            raise ValueError(f"the Repository URL {self.repository!r} is not https://github.com/<owner>/<repo>")
        return f"io.github.{owner}/{self.name}"

    @property
    def file_stem(self) -> str:
        """The name as built files spell it (`<stem>-<version>-py3-none-any.whl`, `<stem>-<version>.tar.gz`):
        normalized (PEP 503), `-` as `_` (the binary distribution format, PEP 625)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()


def project(pyproject: Path = ROOT / "pyproject.toml") -> Project:
    meta = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return Project(
        name=meta["name"],
        version=mcp_directory.__version__,
        description=meta["description"],
        license=meta["license"],
        requires_python=meta["requires-python"],
        keywords=tuple(meta.get("keywords", ())),
        urls=dict(meta["urls"]),
    )


@dataclass(frozen=True)
class Option:
    """One environment variable a user sets: a provider's setting or a server-wide switch."""

    env: str
    title: str
    description: str
    kind: Literal["string", "boolean"] = "string"
    secret: bool = False
    default: str | None = None  # what a client may fill in; the server reads it the same as unset
    example: str | None = None  # what a client may show in an empty field

    @property
    def key(self) -> str:
        """Its name in the bundle's user_config (`${user_config.<key>}`)."""
        return self.env.lower()


# The server-wide switches a desktop user may want (the rest of SPEC §2 is for HTTP deployments and
# tuning). tests/test_distribution.py checks that each one changes what Settings.from_env reads.
SERVER_OPTIONS: tuple[Option, ...] = (
    Option(
        "MCP_DIRECTORY_ALLOW_WRITES",
        "Allow writes",
        "Register the write tools and let proxy_request send more than GET; destructive writes still "
        "need confirm=true. Off: read-only.",
        kind="boolean",
        default="false",
    ),
    Option(
        "MCP_DIRECTORY_TOOLSETS",
        "Toolsets",
        f"Comma list of the toolsets to register: {', '.join(TOOLSETS)}. Empty: all of them.",
        default="",
    ),
    Option(
        "MCP_DIRECTORY_DEMO",
        "Demo",
        "Serve simulated providers holding a seeded directory instead of the real ones: no credentials, no network.",
        kind="boolean",
        default="false",
    ),
)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else f"{text}."


def setting_option(spec: ProviderSpec, setting: Setting) -> Option:
    """A provider's setting as the user sees it: what it is, and what it takes to turn the provider on."""
    needed = spec.required_env()
    credential = spec.setting("credential").env
    description = _sentence(setting.description)
    ways = [way for way in spec.sign_in if setting.key in way]
    if spec.sign_in:  # several ways to sign in: the last entry of `needed` names them
        needed, credential = needed[:-1], needed[-1]
    if ways:
        partners = [spec.setting(key).env for key in ways[0] if key != setting.key]
        also = f" with {joined(partners, 'and')}" if partners else ""
        description += (
            f" One way to sign in: setting it{also} turns {spec.title} on (with {joined(needed, 'and')}); "
            "empty leaves this way off."
        )
    elif setting.key == "credential":
        others = [env for env in needed if env != setting.env]
        with_others = f" (with {joined(others, 'and')})" if others else ""
        description += f" Setting it turns {spec.title} on{with_others}; empty leaves it off."
    elif setting.env in needed:
        description += f" Required with {credential}."
    elif not setting.required:
        description += " Optional."
    # A default is the server's to apply: a client that sent it would make the variable "set", and
    # a provider with only its base URL set is reported at start-up as half configured.
    if setting.default is not None:
        description += f" Default: {setting.default}."
    return Option(
        setting.env, f"{spec.title}: {setting.env}", description, secret=setting.secret, example=setting.default
    )


def options(providers: Sequence[Provider] = PROVIDERS) -> list[Option]:
    """Every provider's settings, in the providers' order, then the server-wide switches."""
    return [setting_option(p.spec, s) for p in providers for s in p.spec.settings] + list(SERVER_OPTIONS)


# A sentence ends at a period and a capital letter, but not at "e.g. Commander".
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z`])")


def first_sentence(text: str) -> str:
    end = _SENTENCE_END.search(text)
    return text[: end.start() + 1] if end else text.strip()


def tools(providers: Sequence[Provider] = PROVIDERS) -> list[tuple[str, str]]:
    """Every tool a server with writes allowed lists, with the first sentence of its description."""
    return [(t.name, first_sentence(t.describe(providers))) for t in full_set()]
