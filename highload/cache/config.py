"""The frozen configuration of a read-through cache: expiry, negative caching, stampede protection."""

from __future__ import annotations

import math
import numbers
import random
from dataclasses import dataclass

from highload import _validate

from .entry import Entry

__all__ = ["CacheConfig", "make_rng", "xfetch_due"]


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """How long entries live and how a cache protects its loader from stampedes.

    * ``ttl``: seconds an entry stays fresh (``age < ttl``); ``math.inf`` never expires.
    * ``jitter``: a fraction in [0, 1). Each entry lives ``ttl * (1 - jitter * U)`` with U
      uniform in [0, 1) from the cache's seeded rng, so keys filled together do not all
      expire together. Jitter only shortens: ``ttl`` stays the staleness bound.
    * ``negative_ttl``: cache a loader's ``None`` ("not found") for this long; ``None``
      (the default) never caches ``None``.
    * ``stale_while_revalidate``: seconds an expired entry may still be served while a
      single background refresh reloads it; 0 turns it off.
    * ``xfetch_beta``: XFetch probabilistic early refresh (Vattani et al., VLDB 2015). A
      read refreshes a fresh entry early when ``now - delta * beta * ln(U) >= expiry``,
      with ``delta`` the entry's last load time. 1.0 is the paper's default; 0 is off.
    * ``single_flight``: concurrent misses of one key run the loader once: threads (or
      tasks) in a process share one load, and on Redis a ``SET NX PX`` lock makes other
      processes wait for it.
    * ``lock_ttl``: real seconds the cross-process lock lives. It must outlast the
      slowest load, or a second process may load too.
    * ``lock_wait``: real seconds a process waits for another's load before it loads
      itself (fail-open: a duplicate load beats a hung request). Defaults to ``lock_ttl``.
    """

    ttl: float
    jitter: float = 0.0
    negative_ttl: float | None = None
    stale_while_revalidate: float = 0.0
    xfetch_beta: float = 0.0
    single_flight: bool = False
    lock_ttl: float = 30.0
    lock_wait: float | None = None

    def __post_init__(self) -> None:
        _validate.seconds("ttl", self.ttl, allow_inf=True)
        _validate.number("jitter", self.jitter, minimum=0, inclusive=True)
        if not self.jitter < 1:
            raise ValueError(f"jitter must be < 1 (a fraction of ttl), got {self.jitter!r}")
        if self.negative_ttl is not None:
            _validate.seconds("negative_ttl", _validate.number("negative_ttl", self.negative_ttl, minimum=0, inclusive=False))
        _validate.seconds("stale_while_revalidate", self.stale_while_revalidate, inclusive=True, allow_inf=True)
        _validate.lua_number("xfetch_beta", self.xfetch_beta, minimum=0, inclusive=True, maximum=math.inf)
        if not isinstance(self.single_flight, bool):
            raise TypeError(f"single_flight must be True or False, got {self.single_flight!r}")
        _validate.seconds("lock_ttl", self.lock_ttl)
        if self.lock_wait is not None:
            _validate.number("lock_wait", self.lock_wait, minimum=0, inclusive=True)

    @property
    def wait_for_lock(self) -> float:
        """Seconds to wait for another process's load: ``lock_wait``, else ``lock_ttl``."""
        return self.lock_ttl if self.lock_wait is None else self.lock_wait

    def entry(self, value, started: float, finished: float, rng: random.Random) -> Entry | None:
        """The entry for a load that ran from ``started`` to ``finished``; None if not cacheable."""
        if value is None:
            if self.negative_ttl is None:
                return None
            return Entry(None, finished, self.negative_ttl, 0.0, finished - started)
        ttl = self.ttl
        if self.jitter and ttl != math.inf:
            ttl *= 1.0 - self.jitter * rng.random()
        return Entry(value, finished, ttl, self.stale_while_revalidate, finished - started)


def xfetch_due(entry: Entry, now: float, beta: float, rng: random.Random) -> bool:
    """XFetch's test: refresh now if ``now - delta * beta * ln(U) >= expiry``, U in (0, 1].

    The chance grows as expiry nears and is larger for entries that were slow to load,
    so one reader refreshes shortly before expiry instead of all of them just after it.
    """
    if beta <= 0 or entry.delta <= 0 or entry.ttl == math.inf:
        return False
    u = 1.0 - rng.random()  # (0, 1]: ln(0) is undefined
    return now - entry.delta * beta * math.log(u) >= entry.created + entry.ttl


def make_rng(rng: random.Random | int | None) -> random.Random:
    """A ``random.Random`` from an instance, a seed, or None (unseeded, for production)."""
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return random.Random(rng)
    if isinstance(rng, random.Random):
        return rng
    raise TypeError(f"rng must be a random.Random, an int seed or None, got {rng!r}")
