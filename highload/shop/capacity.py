"""A fixed per-instance capacity, for scaling experiments on a machine with few cores.

Two cores cannot show CPU-bound scale-out honestly: three instances just share the same two
cores. What scale-out *does* add is capacity that is per instance: worker slots, connection
pools, memory. :class:`SimulatedCapacity` models exactly that: each instance admits at most
``max_in_flight`` requests at once (the rest wait in line, as at a saturated worker pool), and
each admitted request holds its slot for ``io_delay`` seconds of simulated I/O (an
``asyncio.sleep``, so it costs no CPU). One instance then serves at most
``max_in_flight / io_delay`` requests per second, and N instances N times that.
"""

from __future__ import annotations

import asyncio

from highload import _validate

__all__ = ["SimulatedCapacity"]

#: Health checks bypass the line: a busy instance is still a live one.
EXEMPT_PATHS = frozenset({"/health"})


class SimulatedCapacity:
    """Pure ASGI middleware: at most ``max_in_flight`` requests at once, each holding ``io_delay`` s."""

    def __init__(self, app, *, max_in_flight: int, io_delay: float) -> None:
        self.app = app
        # as ShopSettings: 0 slots would hold every request forever, an infinite delay too
        self.io_delay = _validate.seconds("io_delay", io_delay, inclusive=True)
        self._slots = asyncio.Semaphore(_validate.integer("max_in_flight", max_in_flight, minimum=1))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        async with self._slots:
            await asyncio.sleep(self.io_delay)
            await self.app(scope, receive, send)
