"""Injectable time.

Every time-based class in highload takes ``clock=``: any zero-argument callable
returning seconds. Production passes :class:`SystemClock` (monotonic time);
tests, simulations and widgets pass :class:`ManualClock`, so nothing sleeps
and every run is deterministic.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "ManualClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of time in seconds that can also wait."""

    def __call__(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real monotonic time; ``sleep`` really waits."""

    def __call__(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """Time that moves only when told to.

    ``sleep`` and ``asleep`` advance the clock instead of waiting, so code that
    backs off or waits for a window runs instantly and repeatably under test.
    """

    def __init__(self, start: float = 0.0) -> None:
        if not isinstance(start, int | float):
            raise TypeError(f"start must be a number, got {start!r}")
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        """Jump to ``now``, even backwards (to simulate a clock that misbehaves)."""
        with self._lock:
            self._now = float(now)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"
