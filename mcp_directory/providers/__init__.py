"""One adapter module per provider; importing this package registers all of them."""

from .base import Adapter, ProviderSpec
from .opsgenie import Opsgenie
from .retool import Retool
from .rootly import Rootly

__all__ = ["Adapter", "Opsgenie", "ProviderSpec", "Retool", "Rootly"]
