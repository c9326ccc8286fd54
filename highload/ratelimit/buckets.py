"""Token bucket and leaky bucket: limits that allow bursts up to a capacity, then a steady rate."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from highload import _validate

from .base import Limiter, floor_nonneg

__all__ = ["TokenBucket", "LeakyBucket"]

_PLAIN = (int, float)


class TokenBucket(Limiter):
    """A bucket of ``capacity`` tokens refilled continuously at ``refill_rate`` per second.

    A new bucket starts full, so a client may burst ``capacity`` requests, then sustain
    ``refill_rate`` per second. A clock that goes backwards adds and removes nothing: refill
    resumes once the clock passes the latest time already seen.

    >>> from highload.clock import ManualClock
    >>> clock = ManualClock()
    >>> bucket = TokenBucket(capacity=2, refill_rate=1, clock=clock)
    >>> bucket.allow(), bucket.allow(), bucket.allow()
    (True, True, False)
    >>> bucket.retry_after()
    1.0
    """

    def __init__(
        self,
        capacity: float,
        refill_rate: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = _validate.lua_number("capacity", capacity, minimum=0, inclusive=False)
        self.refill_rate = _validate.lua_number("refill_rate", refill_rate, minimum=0, inclusive=True)
        super().__init__(clock)
        self.limit = self.capacity
        self.window = self.capacity / self.refill_rate if self.refill_rate else math.inf
        self._tokens = self.capacity
        self._last = self._clock()

    def __repr__(self) -> str:
        return f"TokenBucket(capacity={self.capacity:g}, refill_rate={self.refill_rate:g})"

    @property
    def tokens(self) -> float:
        """The level at ``clock()``, after refill."""
        with self._lock:
            self._advance(self._clock())
            return self._tokens

    def allow(self, cost: float = 1) -> bool:
        # The hot path, inlined: one lock, one refill, one comparison.
        if type(cost) not in _PLAIN or cost <= 0:
            _validate.cost(cost)
        with self._lock:
            now = self._clock()
            if now > self._last:
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.refill_rate)
                self._last = now
            if cost <= self._tokens:
                self._tokens -= cost
                return True
            return False

    def _advance(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.refill_rate)
            self._last = now

    def _fits(self, cost: float) -> bool:
        return cost <= self._tokens

    def _take(self, cost: float) -> None:
        self._tokens -= cost

    def _retry(self, cost: float, now: float) -> float:
        if cost > self.capacity or self.refill_rate == 0:
            return math.inf
        return (cost - self._tokens) / self.refill_rate

    def _reset(self, now: float) -> float:
        missing = self.capacity - self._tokens
        if missing <= 0:
            return 0.0
        return missing / self.refill_rate if self.refill_rate else math.inf

    def _remaining(self) -> int:
        return floor_nonneg(self._tokens)


class LeakyBucket(Limiter):
    """A bucket that fills by ``cost`` per request and leaks at ``leak_rate`` per second.

    A request is admitted while the level stays within ``capacity``. This is the "meter"
    form: the mirror image of the token bucket (level = capacity - tokens). The "queue" form
    delays admitted requests by ``level / leak_rate`` to smooth the output; see the lesson.
    """

    def __init__(
        self,
        capacity: float,
        leak_rate: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = _validate.lua_number("capacity", capacity, minimum=0, inclusive=False)
        self.leak_rate = _validate.lua_number("leak_rate", leak_rate, minimum=0, inclusive=True)
        super().__init__(clock)
        self.limit = self.capacity
        self.window = self.capacity / self.leak_rate if self.leak_rate else math.inf
        self._level = 0.0
        self._last = self._clock()

    def __repr__(self) -> str:
        return f"LeakyBucket(capacity={self.capacity:g}, leak_rate={self.leak_rate:g})"

    @property
    def level(self) -> float:
        with self._lock:
            self._advance(self._clock())
            return self._level

    def _advance(self, now: float) -> None:
        if now > self._last:
            self._level = max(0.0, self._level - (now - self._last) * self.leak_rate)
            self._last = now

    def _fits(self, cost: float) -> bool:
        return self._level + cost <= self.capacity

    def _take(self, cost: float) -> None:
        self._level += cost

    def _retry(self, cost: float, now: float) -> float:
        if cost > self.capacity or self.leak_rate == 0:
            return math.inf
        return (self._level + cost - self.capacity) / self.leak_rate

    def _reset(self, now: float) -> float:
        if self._level <= 0:
            return 0.0
        return self._level / self.leak_rate if self.leak_rate else math.inf

    def _remaining(self) -> int:
        return floor_nonneg(self.capacity - self._level)
