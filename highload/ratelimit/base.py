"""What every single-key, in-memory limiter shares: a lock, a clock and the check protocol.

Subclasses describe one algorithm through four small steps, and the same steps serve
``allow``, ``check``, ``retry_after`` and the all-or-nothing multi-check:

* ``_advance(now)``: bring state to ``now`` (refill, drain, roll windows); never consumes.
* ``_fits(cost)``: would ``cost`` be admitted in the current state?
* ``_take(cost)``: consume ``cost``.
* ``_retry(cost, now)`` / ``_reset(now)`` / ``_remaining()``: numbers for the decision.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from highload import _validate

from .decision import Decision

__all__ = ["Limiter"]


class Limiter:
    limit: float
    window: float
    name = "default"

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = _validate.clock(clock, default=time.monotonic)
        self._lock = threading.Lock()

    # -- the algorithm's steps (overridden) ---------------------------------------------------
    def _advance(self, now: float) -> None:
        raise NotImplementedError

    def _fits(self, cost: float) -> bool:
        raise NotImplementedError

    def _take(self, cost: float) -> None:
        raise NotImplementedError

    def _retry(self, cost: float, now: float) -> float:
        raise NotImplementedError

    def _reset(self, now: float) -> float:
        raise NotImplementedError

    def _remaining(self) -> int:
        raise NotImplementedError

    # -- public API ----------------------------------------------------------------------------
    def allow(self, cost: float = 1) -> bool:
        """Admit and consume ``cost`` if it fits; a rejected call consumes nothing."""
        _validate.cost(cost)
        with self._lock:
            self._advance(self._clock())
            if self._fits(cost):
                self._take(cost)
                return True
            return False

    def check(self, cost: float = 1) -> Decision:
        """Like :meth:`allow`, but return the whole :class:`Decision`."""
        _validate.cost(cost)
        with self._lock:
            now = self._clock()
            self._advance(now)
            allowed = self._fits(cost)
            if allowed:
                self._take(cost)
            return self._decision(allowed, cost, now)

    def retry_after(self, cost: float = 1) -> float:
        """0.0 if ``cost`` would pass now, else seconds to wait (``math.inf`` if never)."""
        _validate.cost(cost)
        with self._lock:
            now = self._clock()
            self._advance(now)
            return 0.0 if self._fits(cost) else self._retry(cost, now)

    def peek(self) -> Decision:
        """The decision a request of cost 1 would get now, consuming nothing."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            fits = self._fits(1)
            return self._decision(fits, 1, now)

    def _decision(self, allowed: bool, cost: float, now: float, fits: bool | None = None) -> Decision:
        # Only a request that does not fit has a wait; in a multi-check one that fits can
        # still be refused because another limit did not.
        fits = allowed if fits is None else fits
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=self._remaining(),
            retry_after=0.0 if fits else self._retry(cost, now),
            reset_after=self._reset(now),
            policy=self.name,
            window=self.window,
        )


def floor_nonneg(x: float) -> int:
    return max(0, math.floor(x + 1e-9))
