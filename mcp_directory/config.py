"""Configuration from the environment (SPEC §2); CLI flags override it.

A provider is configured when its credential (and, for Retool, its base URL) is set. A
half-configured provider is not an error: it is reported in `Settings.warnings` and left
out, so the other providers still work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .retry import RetryPolicy

TOOLSETS: tuple[str, ...] = ("directory", "incidents", "admin", "proxy")


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    credential: str = field(repr=False)
    base_url: str


@dataclass(frozen=True)
class _Variables:
    credential: str
    base_url: str
    default_base_url: str | None  # None: the base URL must be given


ENV: dict[str, _Variables] = {
    "rootly": _Variables("ROOTLY_API_TOKEN", "ROOTLY_BASE_URL", "https://api.rootly.com"),
    "opsgenie": _Variables("OPSGENIE_API_KEY", "OPSGENIE_BASE_URL", "https://api.opsgenie.com"),
    "retool": _Variables("RETOOL_API_TOKEN", "RETOOL_BASE_URL", None),
}


@dataclass(frozen=True)
class ClientOptions:
    """How we talk to providers; the defaults suit the real APIs."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Per provider: requests per minute, 0 for no client-side throttle; absent: the
    # provider's published rate (ProviderSpec.requests_per_minute).
    requests_per_minute: dict[str, float] = field(default_factory=dict)
    max_connections: int = 20
    max_concurrent_pages: int | None = None  # None: each provider's own (ProviderSpec.concurrent_pages)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ClientOptions:
        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, not {raw!r}") from None
            if value < 0:
                raise ValueError(f"{name} must not be negative")
            return value

        base = cls()
        rates = {p: number(f"{p.upper()}_REQUESTS_PER_MINUTE", -1) for p in ENV}
        return cls(
            connect_timeout=number("MCP_DIRECTORY_CONNECT_TIMEOUT", base.connect_timeout),
            read_timeout=number("MCP_DIRECTORY_READ_TIMEOUT", base.read_timeout),
            retry=RetryPolicy(
                max_attempts=1 + int(number("MCP_DIRECTORY_MAX_RETRIES", base.retry.max_attempts - 1)),
                max_total_wait=number("MCP_DIRECTORY_MAX_RETRY_WAIT", base.retry.max_total_wait),
            ),
            requests_per_minute={p: r for p, r in rates.items() if r >= 0},
            max_concurrent_pages=max(1, int(number("MCP_DIRECTORY_MAX_CONCURRENT_PAGES", 0))) or None
            if env.get("MCP_DIRECTORY_MAX_CONCURRENT_PAGES", "").strip()
            else None,
        )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    providers: dict[str, ProviderConfig]
    allow_writes: bool = False
    toolsets: tuple[str, ...] = TOOLSETS
    auth_token: str | None = field(default=None, repr=False)
    demo: bool = False
    warnings: tuple[str, ...] = ()
    cursor_secret: str | None = field(default=None, repr=False)
    client: ClientOptions = field(default_factory=ClientOptions)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        demo: bool | None = None,
        allow_writes: bool | None = None,
        toolsets: str | None = None,
    ) -> Settings:
        """Read SPEC §2's variables; arguments that are not None are CLI flags and win."""
        warnings: list[str] = []
        providers: dict[str, ProviderConfig] = {}
        for name, var in ENV.items():
            credential = env.get(var.credential, "").strip()
            base_url = check_base_url(var, env.get(var.base_url, "").strip()) or var.default_base_url
            if credential and base_url:
                providers[name] = ProviderConfig(name, credential, base_url.rstrip("/"))
            elif credential:
                warnings.append(f"{name} is not configured: {var.credential} is set but {var.base_url} is missing")
            elif env.get(var.base_url, "").strip():
                warnings.append(f"{name} is not configured: {var.base_url} is set but {var.credential} is missing")
        chosen = parse_toolsets(toolsets if toolsets is not None else env.get("MCP_DIRECTORY_TOOLSETS"))
        return cls(
            providers=providers,
            allow_writes=allow_writes if allow_writes is not None else _flag(env.get("MCP_DIRECTORY_ALLOW_WRITES")),
            toolsets=chosen,
            auth_token=env.get("MCP_DIRECTORY_AUTH_TOKEN") or None,
            demo=demo if demo else _flag(env.get("MCP_DIRECTORY_DEMO")),
            warnings=tuple(warnings),
            cursor_secret=env.get("MCP_DIRECTORY_CURSOR_SECRET") or None,
            client=ClientOptions.from_env(env),
        )

    @property
    def secrets(self) -> list[str]:
        """Everything that must never appear in output."""
        extra = [s for s in (self.auth_token, self.cursor_secret) if s]
        return [p.credential for p in self.providers.values()] + extra


def check_base_url(var: _Variables, url: str) -> str:
    """`url` if it is a plain http(s) URL (host, optional port and path), else a ValueError
    naming the variable. Userinfo (`https://user:pass@host`) is refused: httpx would send it
    as Basic auth, and `check` prints base URLs. The errors never quote the value, which may
    hold a password."""
    variable = var.base_url
    if not url:
        return url
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"{variable} is not a valid URL; give one like https://host.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{variable} must be an http:// or https:// URL with a host, like https://host.example.com")
    if "@" in parts.netloc:
        raise ValueError(
            f"{variable} must not contain a user name or password (user:password@host); "
            f"the provider's credential belongs in {var.credential}"
        )
    if "?" in url or "#" in url:
        raise ValueError(f"{variable} must not contain a query ('?') or a fragment ('#')")
    return url


def parse_toolsets(value: str | None) -> tuple[str, ...]:
    if value is None or not value.strip():
        return TOOLSETS
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [n for n in names if n not in TOOLSETS]
    if unknown:
        raise ValueError(f"unknown toolset(s) {', '.join(unknown)}; choose from {', '.join(TOOLSETS)}")
    return names


def missing_variable(provider: str) -> str:
    """Which variable(s) an operator must set to configure a provider."""
    var = ENV[provider]
    return var.credential if var.default_base_url else f"{var.credential} and {var.base_url}"
