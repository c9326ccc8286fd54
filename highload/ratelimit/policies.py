"""Frozen descriptions of a limit, independent of where its state is stored.

A policy says *what* to enforce; a storage (memory or Redis) says *where* the state lives;
:class:`~highload.ratelimit.RateLimiter` joins the two for one key space.
"""

from __future__ import annotations

import math
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


class Policy:
    """Base of all policies: an algorithm name, two numeric parameters and a display name."""

    algorithm: str
    name: str

    @property
    def params(self) -> tuple[float, float]:
        raise NotImplementedError

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
        _validate.number("capacity", self.capacity, minimum=0, inclusive=False)
        _validate.number("refill_rate", self.refill_rate, minimum=0, inclusive=True)

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
        _validate.number("capacity", self.capacity, minimum=0, inclusive=False)
        _validate.number("leak_rate", self.leak_rate, minimum=0, inclusive=True)

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
        _validate.integer("limit", self.limit, minimum=1)
        _validate.number("window", self.window, minimum=0, inclusive=False)
        if not self.name:
            object.__setattr__(self, "name", self.algorithm)

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
