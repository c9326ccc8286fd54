"""What a cache holds per key: the value plus the times that decide fresh, stale and early refresh."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

__all__ = ["Entry", "LATER"]

#: A fill token not read yet. A Redis lookup that finds an entry skips reading the key's
#: generation (the hit path then costs one GET, like a bare cache). Whoever loads must read it
#: with ``backend.token(key)`` *before* calling the loader: a write that lands after that read
#: still cancels the fill, and one that landed before it is already in what the loader reads.
LATER = type("Later", (), {"__repr__": lambda self: "LATER", "__slots__": ()})()


class Entry(NamedTuple):
    """One cached value.

    ``created`` is the clock reading taken after the loader returned, so an entry's age
    never includes its own load. ``ttl`` is this entry's lifetime (already jittered),
    ``stale`` the extra seconds it may be served while a refresh runs
    (stale-while-revalidate), and ``delta`` how long the load took (XFetch's recompute
    time). A ``value`` of ``None`` is a negative entry: "the loader found nothing".
    """

    value: Any
    created: float
    ttl: float = math.inf
    stale: float = 0.0
    delta: float = 0.0

    def age(self, now: float) -> float:
        """Seconds since the entry was stored."""
        return now - self.created

    def is_fresh(self, now: float) -> bool:
        """Younger than its ttl: ``age < ttl``."""
        return now - self.created < self.ttl

    def is_servable(self, now: float) -> bool:
        """Fresh, or expired but still inside its stale-while-revalidate window."""
        return now - self.created < self.ttl + self.stale

    @property
    def expires(self) -> float:
        """The clock reading at which the entry stops being fresh."""
        return self.created + self.ttl
