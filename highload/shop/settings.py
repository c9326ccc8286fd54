"""How one shop instance is configured (no FastAPI needed to build one)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from highload import _validate
from highload.proxies import TrustedProxies

from .catalog import CATALOG, Catalog
from .health import DEFAULT_HEALTH_TIMEOUT, DEFAULT_HEALTH_TTL

__all__ = ["ShopSettings", "CART_KINDS", "default_instance_id"]

CART_KINDS = ("memory", "redis")
#: Seven days: an abandoned cart expires a week after its last change.
DEFAULT_CART_TTL = 7 * 24 * 3600.0


def default_instance_id() -> str:
    """``HIGHLOAD_INSTANCE_ID`` when set, else ``<hostname>-<pid>``."""
    return os.environ.get("HIGHLOAD_INSTANCE_ID") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class ShopSettings:
    """``carts`` picks the cart store: ``"memory"`` (per process: the stateful anti-pattern)
    or ``"redis"`` (shared; ``redis_url=None`` means :func:`highload.redis_client.connect`, i.e.
    ``REDIS_URL`` or the embedded fakeredis). ``cart_ttl`` is in seconds.

    ``max_in_flight`` and ``io_delay`` give the instance a fixed capacity for scaling
    experiments (see :mod:`highload.shop.capacity`): at most ``max_in_flight`` requests at
    once, each holding ``io_delay`` seconds of simulated I/O. ``None``/``0`` mean unlimited
    and no delay."""

    instance_id: str = field(default_factory=default_instance_id)
    carts: str = "memory"
    redis_url: str | None = None
    cart_ttl: float = DEFAULT_CART_TTL
    catalog: Catalog = CATALOG
    max_in_flight: int | None = None
    io_delay: float = 0.0
    trusted_proxies: tuple[str, ...] = ()
    health_ttl: float = DEFAULT_HEALTH_TTL
    health_timeout: float = DEFAULT_HEALTH_TIMEOUT

    def __post_init__(self) -> None:
        if not isinstance(self.instance_id, str) or not self.instance_id:
            raise ValueError(f"instance_id must be a non-empty string, got {self.instance_id!r}")
        if self.carts not in CART_KINDS:
            raise ValueError(f"carts must be one of {CART_KINDS}, got {self.carts!r}")
        ttl = self.cart_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < float("inf"):
            raise ValueError(f"cart_ttl must be a number > 0, got {ttl!r}")
        _validate.seconds("cart_ttl", ttl)  # its ceiling: a Redis TTL (RedisCartStore)
        limit = self.max_in_flight
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"max_in_flight must be an int >= 1 or None, got {limit!r}")
        delay = self.io_delay
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay < float("inf"):
            raise ValueError(f"io_delay must be a number of seconds >= 0, got {delay!r}")
        if delay and limit is None:
            raise ValueError(f"io_delay={delay!r} needs max_in_flight: a delay without a limit adds latency, not a capacity")
        # Normalised ("127.0.0.1/32" -> "127.0.0.1"), so uvicorn and the app read one list.
        object.__setattr__(self, "trusted_proxies", tuple(TrustedProxies(self.trusted_proxies)))
        for name in ("health_ttl", "health_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf") \
                    or (name == "health_timeout" and value == 0):
                raise ValueError(f"{name} must be a number of seconds {'> 0' if name == 'health_timeout' else '>= 0'}, "
                                 f"got {value!r}")
            _validate.seconds(name, value, inclusive=name == "health_ttl")  # the ceiling StoreHealth has
        if not isinstance(self.catalog, Catalog):
            raise ValueError(f"catalog must be a highload.shop.Catalog, got {self.catalog!r}")
