"""Injectable time.

Every time-based class in highload takes ``clock=``: any zero-argument callable
returning seconds. Production passes :class:`SystemClock` (monotonic time);
tests, simulations and widgets pass :class:`ManualClock`, so nothing sleeps
and every run is deterministic.

Async code runs in virtual time with :func:`run_in_virtual_time`: an asyncio loop whose
clock is a :class:`ManualClock`, so ``await asyncio.sleep(5)`` returns at once with the
clock 5 s later, and timers, semaphores and ``gather`` behave as in production::

    clock = ManualClock()

    async def main():
        await asyncio.sleep(5)
        return clock()

    run_in_virtual_time(main, clock)  # 5.0, without waiting
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import selectors
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["Clock", "SystemClock", "ManualClock", "VirtualTimeLoop", "run_in_virtual_time"]

T = TypeVar("T")


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
        if isinstance(start, bool) or not isinstance(start, int | float):
            raise TypeError(f"start must be a number, got {start!r}")
        try:
            self._now = float(start)
        except OverflowError:
            raise ValueError(f"start must be a finite number of seconds, got {start!r}") from None
        if not math.isfinite(self._now):
            raise ValueError(f"start must be a finite number of seconds, got {start!r}")
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


# -- virtual-time asyncio ---------------------------------------------------------------------------


class _VirtualSelector:
    """A selector whose ``select(timeout)`` moves the clock forward instead of waiting.

    asyncio asks its selector to wait until the next timer is due; answering at once, with
    the clock advanced to that moment, turns the event loop into a discrete-event simulator.
    """

    def __init__(self, clock: ManualClock) -> None:
        self._inner = selectors.DefaultSelector()
        self._clock = clock

    def register(self, *args, **kwargs):
        return self._inner.register(*args, **kwargs)

    def unregister(self, *args, **kwargs):
        return self._inner.unregister(*args, **kwargs)

    def modify(self, *args, **kwargs):
        return self._inner.modify(*args, **kwargs)

    def get_key(self, fileobj):
        return self._inner.get_key(fileobj)

    def get_map(self):
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None):
        if timeout is None:
            # Real time would wait forever here; virtual time has nothing to jump to.
            raise RuntimeError("the virtual-time loop is stuck: every task waits and no timer is scheduled")
        ready = self._inner.select(0)
        if not ready and timeout > 0:
            self._clock.advance(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is a ManualClock: ``asyncio.sleep(5)`` returns at once, 5 s later.

    When every task waits on a timer the loop jumps the clock to the earliest one; when every
    task waits on something no timer will ever set, it raises ``RuntimeError`` instead of
    hanging. Prefer :func:`run_in_virtual_time`, which also closes the loop.
    """

    def __new__(cls, clock: ManualClock):
        # Checked here, not in __init__: a half-built loop would complain again in its __del__.
        if not isinstance(clock, ManualClock):
            raise TypeError(f"clock must be a ManualClock, got {clock!r}")
        return super().__new__(cls)

    def __init__(self, clock: ManualClock) -> None:
        self._virtual_clock = clock
        super().__init__(_VirtualSelector(clock))

    def time(self) -> float:
        return self._virtual_clock()


def _run_outside_any_loop(fn: Callable[[], T]) -> T:
    """Run ``fn`` here, or in a helper thread when this thread already runs an event loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    # A thread may run one loop at a time, and Jupyter's kernel already runs one here.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="virtual-time") as pool:
        return pool.submit(fn).result()


def run_in_virtual_time(main: Callable[[], Awaitable[T]], clock: ManualClock) -> T:
    """Run the coroutine ``main()`` to completion on a :class:`VirtualTimeLoop` driven by ``clock``.

    Returns what it returns and raises what it raises. Nothing sleeps: the loop advances
    ``clock`` from timer to timer. Callable from inside a running event loop (a Jupyter
    cell): the run then happens on a helper thread, because a thread runs one loop at a time.
    """
    if not callable(main):
        raise TypeError(f"main must be an async function taking no arguments, got {main!r}")
    if not isinstance(clock, ManualClock):
        raise TypeError(f"clock must be a ManualClock, got {clock!r}")

    def run() -> Any:
        loop = VirtualTimeLoop(clock)
        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()

    return _run_outside_any_loop(run)
