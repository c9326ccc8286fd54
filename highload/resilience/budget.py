"""A retry budget: retries may add at most ``ratio`` of the traffic, so a failing dependency
is not hit by a retry storm on top of the original load (no Python peer library has one)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from highload import _validate

__all__ = ["RetryBudget"]


class RetryBudget:
    """Allow a retry while retries < ratio x first attempts + min_per_second x window, over ``window`` s.

    Shared by every :class:`Retry` of one dependency, so the budget holds across call sites.
    """

    BUCKETS = 10

    def __init__(self, ratio: float = 0.2, *, min_per_second: float = 1.0, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ratio = _validate.number("ratio", ratio, minimum=0, inclusive=True)
        self.min_per_second = _validate.number("min_per_second", min_per_second, minimum=0, inclusive=True)
        self.window = _validate.number("window", window, minimum=0, inclusive=False)
        self._clock, self._width = clock, self.window / self.BUCKETS
        self._buckets: deque[list] = deque()  # [bucket index, first attempts, retries]
        self._requests = self._retries = 0
        self._lock = threading.Lock()

    def _bucket(self, now: float) -> list:
        index = math.floor(now / self._width)
        buckets = self._buckets
        while buckets and buckets[0][0] <= index - self.BUCKETS:
            _, requests, retries = buckets.popleft()
            self._requests -= requests
            self._retries -= retries
        if not buckets or buckets[-1][0] < index:
            buckets.append([index, 0, 0])
        return buckets[-1]

    def record_request(self) -> None:
        """Count one first attempt."""
        with self._lock:
            self._bucket(self._clock())[1] += 1
            self._requests += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is spent."""
        with self._lock:
            bucket = self._bucket(self._clock())
            if self._retries + 1 > self.ratio * self._requests + self.min_per_second * self.window:
                return False
            bucket[2] += 1
            self._retries += 1
            return True

    @property
    def spent(self) -> tuple[int, int]:
        """(first attempts, retries) in the current window."""
        with self._lock:
            self._bucket(self._clock())
            return self._requests, self._retries
