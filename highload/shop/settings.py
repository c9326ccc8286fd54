"""How one shop instance is configured (no FastAPI needed to build one)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from .catalog import CATALOG, Catalog

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
    or ``"redis"`` (shared; ``redis_url=None`` means :func:`highload.store.connect`, i.e.
    ``REDIS_URL`` or the embedded fakeredis). ``cart_ttl`` is in seconds."""

    instance_id: str = field(default_factory=default_instance_id)
    carts: str = "memory"
    redis_url: str | None = None
    cart_ttl: float = DEFAULT_CART_TTL
    catalog: Catalog = CATALOG

    def __post_init__(self) -> None:
        if not isinstance(self.instance_id, str) or not self.instance_id:
            raise ValueError(f"instance_id must be a non-empty string, got {self.instance_id!r}")
        if self.carts not in CART_KINDS:
            raise ValueError(f"carts must be one of {CART_KINDS}, got {self.carts!r}")
        ttl = self.cart_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < float("inf"):
            raise ValueError(f"cart_ttl must be a number > 0, got {ttl!r}")
        if not isinstance(self.catalog, Catalog):
            raise ValueError(f"catalog must be a highload.shop.Catalog, got {self.catalog!r}")
