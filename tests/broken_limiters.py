"""Plausible wrong answers to exercise 08. Each hidden suite must fail every one of them.

Each class differs from a correct solution in exactly one mistake a student might make.
"""

from __future__ import annotations

import math
import time
from collections import deque


class GoodBucket:
    def __init__(self, capacity, refill_rate, clock=time.monotonic):
        if capacity <= 0:
            raise ValueError("capacity")
        if refill_rate < 0:
            raise ValueError("refill_rate")
        self.capacity, self.refill_rate, self.clock = capacity, refill_rate, clock
        self._tokens, self._last = float(capacity), clock()

    def _now(self):
        return self.clock()

    def _refill(self):
        now = self._now()
        if now > self._last:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.refill_rate)
            self._last = now

    @property
    def tokens(self):
        self._refill()
        return self._tokens

    def _check_cost(self, cost):
        if cost <= 0:
            raise ValueError("cost")

    def _fits(self, cost):
        return cost <= self._tokens

    def allow(self, cost=1):
        self._check_cost(cost)
        self._refill()
        if self._fits(cost):
            self._tokens -= cost
            return True
        return False

    def retry_after(self, cost=1):
        self._check_cost(cost)
        self._refill()
        if self._fits(cost):
            return 0.0
        if cost > self.capacity or self.refill_rate == 0:
            return math.inf
        return (cost - self._tokens) / self.refill_rate


class UncappedRefill(GoodBucket):
    def _refill(self):
        now = self._now()
        if now > self._last:
            self._tokens += (now - self._last) * self.refill_rate
            self._last = now


class StrictComparison(GoodBucket):
    def _fits(self, cost):
        return cost < self._tokens


class ConsumesOnReject(GoodBucket):
    def allow(self, cost=1):
        self._check_cost(cost)
        self._refill()
        ok = self._fits(cost)
        self._tokens = max(0.0, self._tokens - cost)
        return ok


class WallClock(GoodBucket):
    def __init__(self, capacity, refill_rate, clock=time.monotonic):
        super().__init__(capacity, refill_rate, time.monotonic)


class NoCostValidation(GoodBucket):
    def _check_cost(self, cost):
        pass


class AcceptsZeroCapacity(GoodBucket):
    def __init__(self, capacity, refill_rate, clock=time.monotonic):
        super().__init__(max(capacity, 1e-9), refill_rate, clock)
        self.capacity = capacity


class BackwardsClockRefills(GoodBucket):
    def _refill(self):
        now = self._now()
        self._tokens = max(0.0, min(self.capacity, self._tokens + (now - self._last) * self.refill_rate))
        self._last = now


class RetryIgnoresLevel(GoodBucket):
    def retry_after(self, cost=1):
        wait = super().retry_after(cost)
        return wait if wait in (0.0, math.inf) else cost / self.refill_rate


class RetryDividesByZero(GoodBucket):
    def retry_after(self, cost=1):
        self._check_cost(cost)
        self._refill()
        if self._fits(cost):
            return 0.0
        return (cost - self._tokens) / self.refill_rate


class StartsEmpty(GoodBucket):
    def __init__(self, capacity, refill_rate, clock=time.monotonic):
        super().__init__(capacity, refill_rate, clock)
        self._tokens = 0.0


class WholeTokensOnly(GoodBucket):
    def _refill(self):
        now = self._now()
        gained = math.floor((now - self._last) * self.refill_rate)
        if gained > 0:
            self._tokens = min(self.capacity, self._tokens + gained)
            self._last = now


class ReturnsTruthyInt(GoodBucket):
    def allow(self, cost=1):
        return int(super().allow(cost))


class Hangs(GoodBucket):
    def allow(self, cost=1):
        while True:
            pass


BROKEN_BUCKETS = [
    UncappedRefill, StrictComparison, ConsumesOnReject, WallClock, NoCostValidation,
    AcceptsZeroCapacity, BackwardsClockRefills, RetryIgnoresLevel, RetryDividesByZero,
    StartsEmpty, WholeTokensOnly, ReturnsTruthyInt,
]


class GoodLog:
    def __init__(self, limit, window, clock=time.monotonic):
        if limit < 1:
            raise ValueError("limit")
        if window <= 0:
            raise ValueError("window")
        self.limit, self.window, self.clock, self._log = limit, window, clock, deque()

    def _expired(self, stamp, now):
        return stamp + self.window <= now

    def _forget(self, now):
        while self._log and self._expired(self._log[0], now):
            self._log.popleft()

    def allow(self):
        now = self.clock()
        self._forget(now)
        if len(self._log) < self.limit:
            self._log.append(now)
            return True
        return False

    def retry_after(self):
        now = self.clock()
        self._forget(now)
        if len(self._log) < self.limit:
            return 0.0
        return self._log[len(self._log) - self.limit] + self.window - now


class InclusiveBoundary(GoodLog):
    def _expired(self, stamp, now):
        return stamp + self.window < now


class RecordsRejected(GoodLog):
    def allow(self):
        ok = super().allow()
        if not ok:
            self._log.append(self.clock())
        return ok


class FixedInsteadOfSliding(GoodLog):
    def _forget(self, now):
        if self._log and math.floor(self._log[0] / self.window) != math.floor(now / self.window):
            self._log.clear()


class RetryFromNewest(GoodLog):
    def retry_after(self):
        wait = super().retry_after()
        return wait and self._log[-1] + self.window - self.clock()


class LogWithoutValidation(GoodLog):
    def __init__(self, limit, window, clock=time.monotonic):
        self.limit, self.window, self.clock, self._log = limit, window, clock, deque()


class LogOnWallClock(GoodLog):
    def __init__(self, limit, window, clock=time.monotonic):
        super().__init__(limit, window, time.monotonic)


BROKEN_LOGS = [InclusiveBoundary, RecordsRejected, FixedInsteadOfSliding, RetryFromNewest,
               LogWithoutValidation, LogOnWallClock]
