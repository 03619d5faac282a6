"""Configuration from the environment (SPEC §2); CLI flags override it.

Which variables configure a provider is the provider's own data (`ProviderSpec.settings`):
this module reads them for every provider in `providers.PROVIDERS`. A provider is configured
when all its required settings are set; a half-configured provider is not an error: it is
reported in `Settings.warnings` and left out, so the other providers still work.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import source_of_truth
from .options import ClientOptions
from .providers import PROVIDERS, Provider
from .review_store import MEMORY as REVIEW_MEMORY
from .spec import ProviderConfig, Setting

TOOLSETS: tuple[str, ...] = ("directory", "incidents", "oncall", "admin", "proxy")

__all__ = [
    "TOOLSETS",
    "ClientOptions",
    "OAuthConfig",
    "ProviderConfig",
    "Settings",
    "env_names",
    "parse_elicit",
    "parse_toolsets",
    "read_provider",
]


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    providers: dict[str, ProviderConfig]
    allow_writes: bool = False
    toolsets: tuple[str, ...] = TOOLSETS
    auth_token: str | None = field(default=None, repr=False)
    oauth: OAuthConfig | None = None  # accept access tokens of this issuer (SPEC §10)
    demo: bool = False
    warnings: tuple[str, ...] = ()
    cursor_secret: str | None = field(default=None, repr=False)
    client: ClientOptions = field(default_factory=ClientOptions)
    # Ask the human before a destructive write when the client can show a form (SPEC §9);
    # MCP_DIRECTORY_ELICIT=never is for clients that declare elicitation but cannot show it.
    elicit: bool = True
    # How long a question to the human stands (SPEC §9: 10 minutes), and so how long its sealed
    # 2026-07-28 request_state is good for; unanswered by then, the call is cancelled. Not an
    # operator setting: the contract fixes it (tests shorten it).
    elicit_deadline: float = 600.0
    # Replicas share their request budgets and access_review snapshots through this Redis (SPEC §10).
    redis_url: str | None = field(default=None, repr=False)
    # Bytes of access_review snapshots a process keeps at most (SPEC §8): a new review past it is rate_limited.
    review_memory: int = REVIEW_MEMORY
    # MCP_DIRECTORY_SOURCE_OF_TRUTH: auto (the configured identity provider), none, or a provider (SPEC §14).
    source_of_truth: str = source_of_truth.AUTO

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        demo: bool | None = None,
        allow_writes: bool | None = None,
        toolsets: str | None = None,
        providers: Sequence[Provider] = PROVIDERS,
    ) -> Settings:
        """Read SPEC §2's variables; arguments that are not None are CLI flags and win."""
        warnings: list[str] = []
        configured: dict[str, ProviderConfig] = {}
        for provider in providers:
            config, warning = read_provider(provider, env)
            if config is not None:
                configured[provider.name] = config
            if warning:
                warnings.append(warning)
        chosen = parse_toolsets(toolsets if toolsets is not None else env.get("MCP_DIRECTORY_TOOLSETS"))
        return cls(
            providers=configured,
            allow_writes=allow_writes if allow_writes is not None else _flag(env.get("MCP_DIRECTORY_ALLOW_WRITES")),
            toolsets=chosen,
            auth_token=env.get("MCP_DIRECTORY_AUTH_TOKEN") or None,
            demo=demo if demo else _flag(env.get("MCP_DIRECTORY_DEMO")),
            warnings=tuple(warnings),
            oauth=OAuthConfig.from_env(env),
            cursor_secret=env.get("MCP_DIRECTORY_CURSOR_SECRET") or None,
            client=ClientOptions.from_env(env, [p.name for p in providers]),
            elicit=parse_elicit(env.get("MCP_DIRECTORY_ELICIT")),
            redis_url=check_redis_url(env.get("MCP_DIRECTORY_REDIS_URL", "").strip()) or None,
            review_memory=parse_megabytes("MCP_DIRECTORY_REVIEW_MEMORY_MB", env.get("MCP_DIRECTORY_REVIEW_MEMORY_MB"))
            or REVIEW_MEMORY,
            source_of_truth=source_of_truth.parse(env.get(source_of_truth.VARIABLE), providers),
        )

    @property
    def secrets(self) -> list[str]:
        """Everything that must never appear in output."""
        extra = [s for s in (self.auth_token, self.cursor_secret, redis_password(self.redis_url)) if s]
        return [s for p in self.providers.values() for s in (p.credential, *p.secrets)] + extra


def read_provider(provider: Provider, env: Mapping[str, str]) -> tuple[ProviderConfig | None, str | None]:
    """A provider's configuration from `env`, or None and (when some but not all of its required
    variables are set) a warning naming what is missing."""
    spec = provider.spec
    values: dict[str, str] = {}
    given: list[Setting] = []
    for setting in spec.settings:
        raw = env.get(setting.env, "").strip()
        if raw:
            given.append(setting)
            values[setting.key] = check_url(setting, spec.setting("credential").env, raw) if setting.url else raw
        elif setting.default is not None:
            values[setting.key] = setting.default
    missing = [s.env for s in spec.settings if s.required and s.key not in values]
    if spec.sign_in and not any(all(key in values for key in way) for way in spec.sign_in):
        missing.append(spec.required_env()[-1])  # the ways to sign in, named together
    if missing:
        if not given:
            return None, None
        have = " and ".join(s.env for s in given)
        verbs = ("is" if len(given) == 1 else "are", "is" if len(missing) == 1 else "are")
        return (
            None,
            f"{spec.name} is not configured: {have} {verbs[0]} set but {' and '.join(missing)} {verbs[1]} missing",
        )
    extra = {k: v for k, v in values.items() if k not in ("credential", "base_url")}
    secrets = tuple(values[s.key] for s in spec.settings if s.secret and s.key != "credential" and s.key in values)
    secrets += spec.derived_secrets(values)
    credential = values.get("credential", "")  # none: the provider signs in another way (`sign_in`)
    config = ProviderConfig(spec.name, credential, values["base_url"].rstrip("/"), extra, secrets)
    return config, spec.caution(values)


def check_url(setting: Setting, credential_env: str, url: str) -> str:
    """`url` if it is a plain http(s) URL (host, optional port and path), else a ValueError
    naming the variable. Userinfo (`https://user:pass@host`) is refused: httpx would send it
    as Basic auth, and `check` prints base URLs. The errors never quote the value, which may
    hold a password."""
    variable = setting.env
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"{variable} is not a valid URL; give one like https://host.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{variable} must be an http:// or https:// URL with a host, like https://host.example.com")
    if "@" in parts.netloc:
        raise ValueError(
            f"{variable} must not contain a user name or password (user:password@host); "
            f"the provider's credential belongs in {credential_env}"
        )
    if "?" in url or "#" in url:
        raise ValueError(f"{variable} must not contain a query ('?') or a fragment ('#')")
    return url


def parse_megabytes(variable: str, value: str | None) -> int | None:
    """A whole number of megabytes (MiB) as bytes; None when unset."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ValueError(f"{variable} must be a whole number of megabytes between 1 and 1000000, like 256")
    return int(text) * 2**20


def check_redis_url(url: str) -> str:
    """MCP_DIRECTORY_REDIS_URL if it is one the redis client takes (`redis://`, `rediss://` for
    TLS, `unix://`), else a ValueError that never quotes it (it may hold a password)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ValueError("MCP_DIRECTORY_REDIS_URL is not a valid URL; give one like redis://127.0.0.1:6379/0") from None
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ValueError(
            "MCP_DIRECTORY_REDIS_URL must be a redis://, rediss:// or unix:// URL, like redis://host:6379/0"
        )
    return url


def redis_password(url: str | None) -> str | None:
    """The password in a Redis URL (`redis://:password@host`), to be redacted like a credential."""
    return urlsplit(url).password if url else None


def parse_toolsets(value: str | None) -> tuple[str, ...]:
    if value is None or not value.strip():
        return TOOLSETS
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [n for n in names if n not in TOOLSETS]
    if unknown:
        raise ValueError(f"unknown toolset(s) {', '.join(unknown)}; choose from {', '.join(TOOLSETS)}")
    return names


def parse_elicit(value: str | None) -> bool:
    """MCP_DIRECTORY_ELICIT: `auto` (the default: ask when the client can answer) or `never`.
    Anything else is refused rather than guessed at: it decides whether a human is asked."""
    choice = (value or "auto").strip().lower() or "auto"
    if choice not in ("auto", "never"):
        raise ValueError("MCP_DIRECTORY_ELICIT must be auto (the default) or never")
    return choice == "auto"


def env_names(provider: Provider) -> dict[str, str]:
    """Setting key -> environment variable, for tools that write environments (the simulators' CLI)."""
    return {s.key: s.env for s in provider.spec.settings}


@dataclass(frozen=True)
class OAuthConfig:
    """Whose access tokens `serve --transport http|sse` accepts (SPEC §10): the authorization
    server's issuer URL, this server's resource URL (the audience tokens must hold), and where
    the issuer's keys are (default: discovered from its metadata)."""

    issuer: str
    audience: str
    jwks_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OAuthConfig | None:
        """MCP_DIRECTORY_OAUTH_*: None when unset; a ValueError naming what is missing or wrong."""
        names = ("MCP_DIRECTORY_OAUTH_ISSUER", "MCP_DIRECTORY_OAUTH_AUDIENCE", "MCP_DIRECTORY_OAUTH_JWKS_URL")
        issuer, audience, jwks_url = (env.get(name, "").strip() or None for name in names)
        if issuer is None and audience is None:
            if jwks_url is not None:
                raise ValueError(f"{names[2]} is set but {names[0]} and {names[1]} are not; set those too")
            return None
        if issuer is None or audience is None:
            missing = names[0] if issuer is None else names[1]
            raise ValueError(f"OAuth needs both {names[0]} and {names[1]}; {missing} is missing")
        return cls(
            issuer=oauth_url(names[0], issuer),
            audience=oauth_url(names[1], audience),
            jwks_url=oauth_url(names[2], jwks_url) if jwks_url else None,
        )


def oauth_url(variable: str, url: str) -> str:
    """`url` if it is an https URL with a host (http only on loopback, for local issuers), with no
    user name, query or fragment; else a ValueError naming the variable. Kept exactly as given:
    an issuer is compared character for character (Auth0's ends in a slash)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ValueError(f"{variable} is not a valid URL; give one like https://auth.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{variable} must be an https:// URL with a host, like https://auth.example.com")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{variable} must be an https:// URL (http:// only for a loopback address)")
    if "@" in parts.netloc or "?" in url or "#" in url:
        raise ValueError(f"{variable} must not contain a user name, a query ('?') or a fragment ('#')")
    return url


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"
