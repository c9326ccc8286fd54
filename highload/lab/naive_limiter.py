"""A deliberately racy limiter: read the count, decide in Python, write it back.

This is the limiter most people write first (the ``redis.get(ip)`` sketch in many guides). Two
clients can both read ``count = limit - 1``, both decide "allowed" and both write ``limit``:
one request too many. The ``between`` hook lets a test or lesson hold every client between
its GET and its SET (e.g. on a ``threading.Barrier``) to make the race happen every time.
The Lua limiters do the read, the decision and the write in one atomic step instead.
"""

from __future__ import annotations

from collections.abc import Callable

from highload import _validate

__all__ = ["NaiveCounterLimiter"]


class NaiveCounterLimiter:
    """At most ``limit`` requests per key, forever (no window), checked with GET then SET."""

    def __init__(self, client, limit: int, *, prefix: str = "hl:naive:",
                 between: Callable[[], None] | None = None) -> None:
        self.client = client
        self.limit = _validate.integer("limit", limit, minimum=1)
        self.prefix = prefix
        self.between = between

    def allow(self, key: str) -> bool:
        count = int(self.client.get(self.prefix + key) or 0)
        if count >= self.limit:
            return False
        if self.between is not None:
            self.between()  # the window in which another client reads the same stale count
        self.client.set(self.prefix + key, count + 1)
        return True
