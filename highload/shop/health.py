"""``/health`` from a cached, time-bounded check of the cart store.

A balancer polls ``/health`` often, and a stalled Redis must not stall the answer: a health
check that waits for a PING as long as the client library allows (seconds, with retries) ties
up the balancer's probes and a server thread each time. So the PING runs on one background
thread at most once per ``ttl`` seconds, ``/health`` waits for it at most ``timeout`` seconds,
and while a PING is still stuck no second one is started: every answer meanwhile is "down".
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from highload import _validate
from highload.clock import SystemClock

__all__ = ["StoreHealth", "DEFAULT_HEALTH_TTL", "DEFAULT_HEALTH_TIMEOUT"]

log = logging.getLogger("highload.shop")

#: How long one PING's verdict is reused, in seconds.
DEFAULT_HEALTH_TTL = 1.0
#: The longest ``/health`` waits for a PING, in seconds: well under a balancer's probe timeout.
DEFAULT_HEALTH_TIMEOUT = 0.5


class StoreHealth:
    """``await health.ok()``: is the store up? ``ping`` is a blocking zero-argument call that
    raises one of ``errors`` when the store is down (``redis.Redis.ping``)."""

    def __init__(self, ping: Callable[[], object], *, errors: tuple[type[BaseException], ...],
                 ttl: float = DEFAULT_HEALTH_TTL, timeout: float = DEFAULT_HEALTH_TIMEOUT,
                 clock: Callable[[], float] | None = None) -> None:
        self.ping, self.errors = ping, errors
        # as ShopSettings: finite (a check cached forever is no check; an endless wait hangs
        # /health) and at most 10 years (a wait beyond that overflows the thread timeout)
        self.ttl = _validate.seconds("health_ttl", ttl, inclusive=True)
        self.timeout = _validate.seconds("health_timeout", timeout)
        self.clock = clock or SystemClock()
        # One worker: a PING stuck on a stalled socket holds it, and no second PING piles up.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="highload-health")
        self._lock = threading.Lock()
        self._pending: Future | None = None
        self._verdict: tuple[float, bool] | None = None  # (checked at, ok)

    def _start(self) -> Future:
        with self._lock:
            if self._pending is None or self._pending.done():
                self._pending = self._pool.submit(self.ping)
            return self._pending

    async def ok(self) -> bool:
        cached = self._verdict
        if cached is not None and self.clock() < cached[0] + self.ttl:
            return cached[1]
        pending = self._start()
        # Waiting on a helper thread, bounded, ties the PING to no event loop: a late PING still
        # finishes on its own and is reused by the next check, whichever loop asks.
        await asyncio.to_thread(wait, [pending], self.timeout)
        if not pending.done():
            log.warning("health: cart store did not answer PING within %s s", self.timeout)
            ok = False
        elif (exc := pending.exception()) is not None:
            if not isinstance(exc, self.errors):
                raise exc
            log.warning("health: cart store unreachable (%s: %s)", type(exc).__name__, exc)
            ok = False
        else:
            ok = True
        self._verdict = (self.clock(), ok)
        return ok

    def close(self) -> None:
        """Stop the worker (it finishes a PING in flight, bounded by the client's socket timeout)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
