"""Window limiters: at most ``limit`` requests per ``window`` seconds, counted three ways."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from highload import _validate

from .base import Limiter, floor_nonneg

__all__ = ["FixedWindow", "SlidingWindowLog", "SlidingWindowCounter"]


class _Window(Limiter):
    def __init__(self, limit: int, window: float, clock: Callable[[], float] | None) -> None:
        self.limit = _validate.integer("limit", limit, minimum=1)
        self.window = _validate.number("window", window, minimum=0, inclusive=False)
        super().__init__(clock)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(limit={self.limit}, window={self.window:g})"

    def _start_of(self, now: float) -> float:
        return math.floor(now / self.window) * self.window


class FixedWindow(_Window):
    """Counts requests per aligned window ``[k*window, (k+1)*window)``; the count resets at each edge.

    Cheap (one counter) but lets through up to ``2 * limit`` around an edge.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limit, window, clock)
        self._start = self._start_of(self._clock())
        self._count = 0.0

    def _advance(self, now: float) -> None:
        start = self._start_of(now)
        if start > self._start:
            self._start, self._count = start, 0.0

    def _fits(self, cost: float) -> bool:
        return self._count + cost <= self.limit

    def _take(self, cost: float) -> None:
        self._count += cost

    def _retry(self, cost: float, now: float) -> float:
        return math.inf if cost > self.limit else self._start + self.window - now

    def _reset(self, now: float) -> float:
        return self._start + self.window - now if self._count else 0.0

    def _remaining(self) -> int:
        return floor_nonneg(self.limit - self._count)


class SlidingWindowLog(_Window):
    """Remembers each admitted request's time; a request at t counts for times in (t - window, t].

    Exact, at the price of one entry per admitted request. Rejected requests are not recorded.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limit, window, clock)
        self._log: deque[float] = deque()
        self._latest = self._clock()

    def _advance(self, now: float) -> None:
        log, window = self._log, self.window
        # A clock that steps back behind the newest entry stands still, so the log stays ordered.
        if log and log[-1] > now:
            now = log[-1]
        self._latest = now
        while log and log[0] + window <= now:
            log.popleft()

    def _fits(self, cost: float) -> bool:
        return len(self._log) + cost <= self.limit

    def _take(self, cost: float) -> None:
        self._log.extend([self._latest] * math.ceil(cost))

    def _retry(self, cost: float, now: float) -> float:
        if cost > self.limit:
            return math.inf
        # The request fits once enough of the oldest entries have left the window.
        must_leave = len(self._log) + math.ceil(cost) - self.limit
        return self._log[must_leave - 1] + self.window - self._latest

    def _reset(self, now: float) -> float:
        return self._log[-1] + self.window - self._latest if self._log else 0.0

    def _remaining(self) -> int:
        return max(0, self.limit - len(self._log))


class SlidingWindowCounter(_Window):
    """Approximates a sliding window from two fixed-window counters.

    The estimate is ``previous * (1 - elapsed / window) + current``: O(1) memory, and
    within a few percent of the exact log for smooth traffic (Cloudflare's approach).
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limit, window, clock)
        self._latest = self._clock()
        self._start = self._start_of(self._latest)
        self._current = 0.0
        self._previous = 0.0

    def _advance(self, now: float) -> None:
        now = self._latest = max(now, self._latest)
        start = self._start_of(now)
        if start > self._start:
            adjacent = start - self._start <= self.window
            self._previous = self._current if adjacent else 0.0
            self._current = 0.0
            self._start = start

    def _estimate(self) -> float:
        weight = 1.0 - (self._latest - self._start) / self.window
        return self._previous * weight + self._current

    def _fits(self, cost: float) -> bool:
        return self._estimate() + cost <= self.limit

    def _take(self, cost: float) -> None:
        self._current += cost

    def _retry(self, cost: float, now: float) -> float:
        if cost > self.limit:
            return math.inf
        w, start = self.window, self._start
        # Within this window the previous count's weight falls linearly to zero...
        room = self.limit - self._current - cost
        if room >= 0 and self._previous > 0:
            at = start + w * (1.0 - room / self._previous)
        else:
            # ...otherwise wait into the next window, where this window's count becomes "previous".
            at = start + w + w * (1.0 - (self.limit - cost) / self._current)
        return max(0.0, at - self._latest)

    def _reset(self, now: float) -> float:
        if self._current:
            return self._start + 2 * self.window - self._latest
        if self._previous:
            return self._start + self.window - self._latest
        return 0.0

    def _remaining(self) -> int:
        return floor_nonneg(self.limit - self._estimate())
