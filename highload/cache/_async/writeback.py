"""Write-back (write-behind): writes land in the cache and are flushed to the store later, in batches.

Fast writes and fewer store round trips, paid for with a window of data that only the
cache holds: with the in-memory buffer, a crash loses every write since the last flush.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from highload import _validate
from highload.outages import reraise_unless_outage

from .._core import check_clock, scoped
from .._flavour import AsyncLock
from ..events import Recorder
from ..metrics import Observed
from ..stores import AsyncStoreAccess, AsyncStoreLike
from .backends import pick_buffer

__all__ = ["AsyncWriteBackCache"]


class AsyncWriteBackCache(Observed):
    """A write-back cache in front of ``store``.

    Exercise contract: ``write(key, value)`` updates only the cache and marks the key
    dirty. ``read(key)`` serves the cache first, then the store (a key in neither raises
    ``KeyError``); a read from the store does not fill the cache. ``flush()`` writes
    every dirty key to the store (last write wins) and returns how many it wrote. Any
    ``write`` or ``read`` made when at least ``flush_interval`` has passed since the last
    flush flushes first; the first interval starts at construction. ``dirty_count`` is
    the number of dirty keys (a property; on asyncio its value is awaited, since on Redis
    it is a round trip).

    Also: ``max_dirty`` flushes as soon as that many keys are dirty; :meth:`aclose` (and
    leaving a ``with`` block) flushes; ``buffer=AsyncRedisBuffer(...)`` keeps values and dirty
    marks in Redis so a crashed process's writes survive for the next one to flush. A
    store with ``write_many(items)`` (on asyncio also ``awrite_many``)
    gets each flush as one batch; otherwise keys are written one by one, and if the store
    fails part-way the keys already written are clean and the rest stay dirty. If the
    buffer is Redis and Redis is down, reads fail open to the store (which may be older
    than an unflushed write) and writes raise.
    """

    def __init__(self, store: AsyncStoreLike, flush_interval: float = math.inf,
                 clock: Callable[[], float] | None = None, *, max_dirty: int | None = None,
                 buffer=None, name: str | None = None) -> None:
        self._store = AsyncStoreAccess(store)
        self.store = store
        self.flush_interval = _validate.number("flush_interval", flush_interval, minimum=0, inclusive=False)
        self._clock = check_clock(time.monotonic if clock is None else clock)
        if max_dirty is not None:
            max_dirty = _validate.integer("max_dirty", max_dirty, minimum=1)
        self.max_dirty = max_dirty
        self.buffer, self.name = scoped(pick_buffer(buffer, self), name, "write-back")
        self._outage = self.buffer.outage_errors
        self._rec = Recorder(self.name, self._clock)
        self._last_flush = self._clock()  # the first interval starts at construction
        self._flush_lock = AsyncLock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, flush_interval={self.flush_interval!r}, buffer={self.buffer!r})"

    @property
    def last_flush(self) -> float:
        """The clock reading at the start of the last flush (construction, before the first)."""
        return self._last_flush

    @property
    def dirty_count(self) -> Awaitable[int]:
        """How many keys hold writes the store has not seen yet."""
        return self.buffer.dirty_count()

    async def write(self, key: Hashable, value: Any) -> None:
        """Buffer ``value`` and mark ``key`` dirty (flushing first if the interval has passed)."""
        if self._due():
            await self.flush()
        with self._outage_raised(key, "write"):
            dirty = await self.buffer.write(key, value)
        self._rec.record("write", key)
        if self.max_dirty is not None and dirty >= self.max_dirty:
            await self.flush()

    async def read(self, key: Hashable) -> Any:
        """The buffered value, else the store's (``KeyError`` if it has none)."""
        if self._due():
            await self.flush()
        try:
            found, value = await self.buffer.read(key)
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="read")
            found, value = False, None
        if found:
            self._rec.record("hit", key)
            return value
        self._rec.record("miss", key)
        return await self._store.read(key)

    async def flush(self) -> int:
        """Write every dirty key to the store; returns how many were written."""
        async with self._flush_lock:
            self._last_flush = self._clock()
            dirty = await self.buffer.dirty()
            written = 0
            try:
                if dirty and await self._store.write_many([(k, v) for k, v, _ in dirty]):
                    written = len(dirty)
                else:
                    for key, value, _ in dirty:
                        await self._store.write(key, value)
                        written += 1
            finally:
                await self.buffer.clean(dirty[:written])
                self._rec.record("flush", written=written)
            return written

    async def aclose(self) -> None:
        """Flush what is dirty."""
        await self.flush()

    async def __aenter__(self) -> AsyncWriteBackCache:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    def _due(self) -> bool:
        return self._clock() - self._last_flush >= self.flush_interval
