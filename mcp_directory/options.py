"""How we talk to providers (timeouts, retries, throttles, page sizes): the defaults suit the
real APIs; operators tune them with MCP_DIRECTORY_* and <PROVIDER>_REQUESTS_PER_MINUTE."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .retry import RetryPolicy


@dataclass(frozen=True)
class ClientOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Per provider: requests per minute, 0 for no client-side throttle; absent: the
    # provider's published rate (ProviderSpec.requests_per_minute).
    requests_per_minute: dict[str, float] = field(default_factory=dict)
    max_connections: int = 20
    max_concurrent_pages: int | None = None  # None: each provider's own (ProviderSpec.concurrent_pages)
    # Per provider: records per upstream page during a walk; absent: ProviderSpec.page_size.
    page_sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str], providers: Iterable[str] = ()) -> ClientOptions:
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
        rates = {p: number(f"{p.upper()}_REQUESTS_PER_MINUTE", -1) for p in providers}
        pages = env.get("MCP_DIRECTORY_MAX_CONCURRENT_PAGES", "").strip()
        return cls(
            connect_timeout=number("MCP_DIRECTORY_CONNECT_TIMEOUT", base.connect_timeout),
            read_timeout=number("MCP_DIRECTORY_READ_TIMEOUT", base.read_timeout),
            retry=RetryPolicy(
                max_attempts=1 + int(number("MCP_DIRECTORY_MAX_RETRIES", base.retry.max_attempts - 1)),
                max_total_wait=number("MCP_DIRECTORY_MAX_RETRY_WAIT", base.retry.max_total_wait),
            ),
            requests_per_minute={p: r for p, r in rates.items() if r >= 0},
            max_concurrent_pages=max(1, int(number("MCP_DIRECTORY_MAX_CONCURRENT_PAGES", 0))) if pages else None,
        )
