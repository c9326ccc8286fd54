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
        self.window = _validate.lua_number("window", window, minimum=0, inclusive=False)
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

    Exact, at the price of one entry per admitted request, whatever its cost: an entry is
    ``[time, units]`` (a cost counts as ``ceil(cost)`` units) and requests admitted at one
    instant share an entry, so memory grows with requests, never with costs. The Redis script
    keeps the same log (see ``lua/sliding_window_log.lua``). Rejected requests are not recorded.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limit, window, clock)
        self._log: deque[list] = deque()  # [time, units], oldest first
        self._count = 0  # units in the log
        self._latest = self._clock()

    def _advance(self, now: float) -> None:
        log, window = self._log, self.window
        # A clock that steps back behind the newest entry stands still, so the log stays ordered.
        if log and log[-1][0] > now:
            now = log[-1][0]
        self._latest = now
        while log and log[0][0] + window <= now:
            self._count -= log.popleft()[1]

    def _fits(self, cost: float) -> bool:
        return self._count + cost <= self.limit

    def _take(self, cost: float) -> None:
        units, log = math.ceil(cost), self._log
        if log and log[-1][0] == self._latest:
            log[-1][1] += units
        else:
            log.append([self._latest, units])
        self._count += units

    def _retry(self, cost: float, now: float) -> float:
        if cost > self.limit:
            return math.inf
        # The request fits once enough of the oldest units have left the window.
        must_leave = self._count + math.ceil(cost) - self.limit
        for at, units in self._log:
            must_leave -= units
            if must_leave <= 0:
                return at + self.window - self._latest
        raise AssertionError("unreachable: a cost within the limit fits once the whole log has left")

    def _reset(self, now: float) -> float:
        return self._log[-1][0] + self.window - self._latest if self._log else 0.0

    def _remaining(self) -> int:
        return max(0, self.limit - self._count)


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
