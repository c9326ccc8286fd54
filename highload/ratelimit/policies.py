"""Frozen descriptions of a limit, independent of where its state is stored.

A policy says *what* to enforce; a storage (memory or Redis) says *where* the state lives;
:class:`~highload.ratelimit.RateLimiter` joins the two for one key space.

Namespaces. A limiter keeps its state under ``hl:rl:<namespace>:<key>``. A policy without an
explicit ``name=`` gets the namespace ``<algorithm>.<digest>``: the digest is the first 12 hex
digits of the SHA-1 of its canonical parameters and its storage layout version
(:data:`LAYOUT`), identical in every process and host. So a login limit of 5/min and an API
limit of 100/s on one Redis never share a key, and neither do processes running an old and a
new state layout. Changing a policy's parameters therefore starts a new, empty key: during a
rolling deploy old and new processes count separately (a client may briefly get both limits).

To keep one key across a change (say, raising a limit without giving everyone a fresh quota),
give the policy an explicit ``name=``: its namespace is then that name. Each stored state also
carries the policy's :attr:`~Policy.fingerprint`; a state under that name written by another
algorithm or other parameters is reset (never reinterpreted, never failed open), and the
limiter emits a ``state_reset`` event (:meth:`RateLimiter.subscribe`). Names are ASCII
letters, digits and ``_ - .`` (no ``:``, the delimiter, and no ``{}``, Redis Cluster hash tags),
so one namespace can never be a prefix of another.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from highload import _validate

from .base import Limiter
from .buckets import LeakyBucket, TokenBucket
from .windows import FixedWindow, SlidingWindowCounter, SlidingWindowLog

__all__ = [
    "Policy",
    "TokenBucketPolicy",
    "LeakyBucketPolicy",
    "FixedWindowPolicy",
    "SlidingWindowLogPolicy",
    "SlidingWindowCounterPolicy",
    "FREE",
    "PREMIUM",
    "TIERS",
    "monthly_quota",
]

DAY = 86_400.0

#: The version of each algorithm's stored state layout, part of the default namespace's digest.
#: Bump it when a layout changes, so processes on the old and the new layout never share a key
#: (sliding window log: 2 grouped units per entry, 3 added the writer's fingerprint to each entry).
LAYOUT = {"token_bucket": 1, "leaky_bucket": 1, "fixed_window": 1, "sliding_window_log": 3,
          "sliding_window_counter": 1}

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _check_name(name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {name!r}")
    if not _NAME.fullmatch(name):
        raise ValueError(f"name must be 1-64 ASCII letters, digits, '_', '-' or '.' (':' separates "
                         f"namespaces, '{{}}' are Redis Cluster hash tags), got {name!r}")


class Policy:
    """Base of all policies: an algorithm name, two numeric parameters and a display name."""

    algorithm: str
    name: str

    @property
    def params(self) -> tuple[float, float]:
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        """12 hex digits naming algorithm, parameters and state layout; the same in every process."""
        a, b = self.params
        canonical = f"{self.algorithm}|layout={LAYOUT[self.algorithm]}|{a!r}|{b!r}"
        return hashlib.sha1(canonical.encode()).hexdigest()[:12]

    @property
    def namespace(self) -> str:
        """``name`` when it was given, else ``<algorithm>.<fingerprint>`` (see the module docstring)."""
        return self.name if self.name != self.algorithm else f"{self.algorithm}.{self.fingerprint}"

    def create(self, clock: Callable[[], float]) -> Limiter:
        """A fresh in-memory limiter enforcing this policy."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class TokenBucketPolicy(Policy):
    capacity: float
    refill_rate: float
    name: str = "token_bucket"
    algorithm = "token_bucket"

    def __post_init__(self) -> None:
        _validate.lua_number("capacity", self.capacity, minimum=0, inclusive=False)
        _validate.lua_number("refill_rate", self.refill_rate, minimum=0, inclusive=True)
        _check_name(self.name)

    @property
    def params(self) -> tuple[float, float]:
        return float(self.capacity), float(self.refill_rate)

    @property
    def limit(self) -> float:
        return float(self.capacity)

    @property
    def window(self) -> float:
        return self.capacity / self.refill_rate if self.refill_rate else math.inf

    def create(self, clock: Callable[[], float]) -> Limiter:
        bucket = TokenBucket(self.capacity, self.refill_rate, clock)
        bucket.name = self.name
        return bucket


@dataclass(frozen=True, slots=True)
class LeakyBucketPolicy(Policy):
    capacity: float
    leak_rate: float
    name: str = "leaky_bucket"
    algorithm = "leaky_bucket"

    def __post_init__(self) -> None:
        _validate.lua_number("capacity", self.capacity, minimum=0, inclusive=False)
        _validate.lua_number("leak_rate", self.leak_rate, minimum=0, inclusive=True)
        _check_name(self.name)

    @property
    def params(self) -> tuple[float, float]:
        return float(self.capacity), float(self.leak_rate)

    @property
    def limit(self) -> float:
        return float(self.capacity)

    @property
    def window(self) -> float:
        return self.capacity / self.leak_rate if self.leak_rate else math.inf

    def create(self, clock: Callable[[], float]) -> Limiter:
        bucket = LeakyBucket(self.capacity, self.leak_rate, clock)
        bucket.name = self.name
        return bucket


@dataclass(frozen=True, slots=True)
class _WindowPolicy(Policy):
    limit: int
    window: float
    name: str = ""

    def __post_init__(self) -> None:
        _validate.integer("limit", self.limit, minimum=1, maximum=_validate.LUA_MAX)
        _validate.lua_number("window", self.window, minimum=0, inclusive=False)
        if not self.name:
            object.__setattr__(self, "name", self.algorithm)
        _check_name(self.name)

    @property
    def params(self) -> tuple[float, float]:
        return float(self.limit), float(self.window)

    def create(self, clock: Callable[[], float]) -> Limiter:
        limiter = self._limiter(self.limit, self.window, clock)
        limiter.name = self.name
        return limiter


@dataclass(frozen=True, slots=True)
class FixedWindowPolicy(_WindowPolicy):
    algorithm = "fixed_window"
    _limiter = FixedWindow


@dataclass(frozen=True, slots=True)
class SlidingWindowLogPolicy(_WindowPolicy):
    algorithm = "sliding_window_log"
    _limiter = SlidingWindowLog


@dataclass(frozen=True, slots=True)
class SlidingWindowCounterPolicy(_WindowPolicy):
    algorithm = "sliding_window_counter"
    _limiter = SlidingWindowCounter


#: Two API tiers: a free user may burst 100 and sustain 1 request/s (60/min);
#: a premium user may burst 1000 and sustain 10/s.
FREE = TokenBucketPolicy(capacity=100, refill_rate=1, name="free")
PREMIUM = TokenBucketPolicy(capacity=1000, refill_rate=10, name="premium")
TIERS: dict[str, Policy] = {"free": FREE, "premium": PREMIUM}


def monthly_quota(calls: int, *, name: str = "monthly") -> FixedWindowPolicy:
    """A long-period quota: ``calls`` per 30-day window (e.g. 5000 calls a month for a free plan)."""
    return FixedWindowPolicy(limit=calls, window=30 * DAY, name=name)
