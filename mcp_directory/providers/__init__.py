"""The providers: the only list of them. Everything that varies by provider derives from it.

Each module exports one `Provider` value (its spec and its adapter); adding a provider is
adding its module and its line here (see docs/adding-a-provider.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import Adapter, Provider
from .jsm import JSM
from .okta import OKTA
from .opsgenie import OPSGENIE
from .retool import RETOOL
from .rootly import ROOTLY

PROVIDERS: tuple[Provider, ...] = (ROOTLY, OPSGENIE, RETOOL, JSM, OKTA)


def names(providers: Sequence[Provider] = PROVIDERS) -> list[str]:
    return [p.name for p in providers]


__all__ = ["PROVIDERS", "Adapter", "Provider", "names"]
