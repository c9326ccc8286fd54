"""Sliding windows of call outcomes for the rate-based breaker modes."""

from __future__ import annotations

import math
from collections import deque

__all__ = ["CountWindow", "TimeWindow"]


class _Rates:
    calls = failures = slow = 0

    def over(self, minimum_calls: int, failure_rate: float, slow_rate: float) -> bool:
        if self.calls < minimum_calls:
            return False
        return self.failures >= failure_rate * self.calls or self.slow >= slow_rate * self.calls

    def failure_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0


class CountWindow(_Rates):
    """The outcomes of the last ``size`` calls."""

    def __init__(self, size: int) -> None:
        self._ring: deque[tuple[bool, bool]] = deque()
        self._size = size

    def record(self, failed: bool, slow: bool, now: float) -> None:
        if len(self._ring) == self._size:
            old_failed, old_slow = self._ring.popleft()
            self.calls -= 1
            self.failures -= old_failed
            self.slow -= old_slow
        self._ring.append((failed, slow))
        self.calls += 1
        self.failures += failed
        self.slow += slow

    def reset(self) -> None:
        self._ring.clear()
        self.calls = self.failures = self.slow = 0


class TimeWindow(_Rates):
    """The outcomes of the last ``seconds``, kept in ten buckets (memory stays O(1) under load)."""

    BUCKETS = 10

    def __init__(self, seconds: float) -> None:
        self._width = seconds / self.BUCKETS
        self._buckets: deque[list] = deque()  # [bucket index, calls, failures, slow]

    def _evict(self, now: float) -> None:
        oldest = math.floor(now / self._width) - self.BUCKETS
        while self._buckets and self._buckets[0][0] <= oldest:
            _, calls, failures, slow = self._buckets.popleft()
            self.calls -= calls
            self.failures -= failures
            self.slow -= slow

    def record(self, failed: bool, slow: bool, now: float) -> None:
        self._evict(now)
        index = math.floor(now / self._width)
        if not self._buckets or self._buckets[-1][0] < index:
            self._buckets.append([index, 0, 0, 0])
        bucket = self._buckets[-1]
        bucket[1] += 1
        bucket[2] += failed
        bucket[3] += slow
        self.calls += 1
        self.failures += failed
        self.slow += slow

    def reset(self) -> None:
        self._buckets.clear()
        self.calls = self.failures = self.slow = 0
