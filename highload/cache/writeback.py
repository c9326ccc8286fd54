"""Write-back (write-behind): writes land in the cache and are flushed to the store later, in batches.

Fast writes and fewer store round trips, paid for with a window of data that only the
cache holds: with the in-memory buffer, a crash loses every write since the last flush.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
import time
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any

from highload import _validate

from ._core import check_clock, check_name
from .buffer import MemoryBuffer
from .events import Recorder
from .metrics import Observed
from .stores import AsyncStore, aread, awrite, check_store

__all__ = ["WriteBackCache", "AsyncWriteBackCache"]


class _Base(Observed):
    _asynchronous = False

    def _setup(self, store, flush_interval, clock, max_dirty, buffer, name) -> None:
        self.store = check_store(store, asynchronous=self._asynchronous)
        self.flush_interval = _validate.number("flush_interval", flush_interval, minimum=0, inclusive=False)
        self._clock = check_clock(time.monotonic if clock is None else clock)
        if max_dirty is not None:
            max_dirty = _validate.integer("max_dirty", max_dirty, minimum=1)
        self.max_dirty = max_dirty
        self.buffer = MemoryBuffer() if buffer is None else buffer
        if not all(callable(getattr(self.buffer, m, None)) for m in ("write", "read", "dirty", "clean")):
            raise TypeError(f"buffer must be a MemoryBuffer or RedisBuffer, got {buffer!r}")
        self._buffer_async = inspect.iscoroutinefunction(self.buffer.write)
        if self._buffer_async and not self._asynchronous:
            raise TypeError(f"buffer {buffer!r} is asyncio-only: use AsyncWriteBackCache")
        self._outage = getattr(self.buffer, "outage_errors", ())
        self.name = check_name(name)
        self._rec = Recorder(self.name, self._clock)
        self._last_flush = self._clock()  # the first interval starts at construction

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, flush_interval={self.flush_interval!r}, buffer={self.buffer!r})"

    @property
    def last_flush(self) -> float:
        """The clock reading at the start of the last flush (construction, before the first)."""
        return self._last_flush

    def _due(self) -> bool:
        return self._clock() - self._last_flush >= self.flush_interval


class WriteBackCache(_Base):
    """A write-back cache in front of ``store``.

    Exercise contract: ``write(key, value)`` updates only the cache and marks the key
    dirty. ``read(key)`` serves the cache first, then the store (a key in neither raises
    ``KeyError``); a read from the store does not fill the cache. ``flush()`` writes
    every dirty key to the store (last write wins) and returns how many it wrote. Any
    ``write`` or ``read`` made when at least ``flush_interval`` has passed since the last
    flush flushes first; the first interval starts at construction. ``dirty_count`` is
    the number of dirty keys.

    Also: ``max_dirty`` flushes as soon as that many keys are dirty; :meth:`close` (and
    leaving a ``with`` block) flushes; ``buffer=RedisBuffer(...)`` keeps values and dirty
    marks in Redis so a crashed process's writes survive for the next one to flush. A
    store with ``write_many(items)`` gets each flush as one batch; otherwise keys are
    written one by one, and if the store fails part-way the keys already written are
    clean and the rest stay dirty. If the buffer is Redis and Redis is down, reads fail
    open to the store (which may be older than an unflushed write) and writes raise.
    """

    def __init__(self, store: MutableMapping, flush_interval: float = math.inf,
                 clock: Callable[[], float] | None = None, *, max_dirty: int | None = None,
                 buffer=None, name: str = "write-back") -> None:
        self._setup(store, flush_interval, clock, max_dirty, buffer, name)
        self._flush_lock = threading.RLock()

    def write(self, key: Hashable, value: Any) -> None:
        if self._due():
            self.flush()
        with self._outage_raised(key, "write"):
            dirty = self.buffer.write(key, value)
        self._rec.record("write", key)
        if self.max_dirty is not None and dirty >= self.max_dirty:
            self.flush()

    def read(self, key: Hashable) -> Any:
        if self._due():
            self.flush()
        try:
            found, value = self.buffer.read(key)
        except self._outage:
            self._rec.record("backend_error", key, op="read")
            found, value = False, None
        if found:
            self._rec.record("hit", key)
            return value
        self._rec.record("miss", key)
        return self.store[key]

    def flush(self) -> int:
        """Write every dirty key to the store; returns how many were written."""
        with self._flush_lock:
            self._last_flush = self._clock()
            dirty = self.buffer.dirty()
            written = 0
            try:
                batch = getattr(self.store, "write_many", None)
                if callable(batch) and dirty:
                    batch([(k, v) for k, v, _ in dirty])
                    written = len(dirty)
                else:
                    for key, value, _ in dirty:
                        self.store[key] = value
                        written += 1
            finally:
                self.buffer.clean(dirty[:written])
                self._rec.record("flush", written=written)
            return written

    @property
    def dirty_count(self) -> int:
        """How many keys hold writes the store has not seen yet."""
        return self.buffer.dirty_count()

    def close(self) -> None:
        """Flush what is dirty."""
        self.flush()

    def __enter__(self) -> WriteBackCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncWriteBackCache(_Base):
    """The asyncio twin of :class:`WriteBackCache`.

    ``buffer`` is a :class:`MemoryBuffer` (default) or an :class:`AsyncRedisBuffer`;
    ``store`` a MutableMapping or an AsyncStore (with ``awrite_many`` for batches).
    ``dirty_count`` is a coroutine here, since on Redis it is a round trip.
    """

    _asynchronous = True

    def __init__(self, store, flush_interval: float = math.inf, clock: Callable[[], float] | None = None,
                 *, max_dirty: int | None = None, buffer=None, name: str = "write-back") -> None:
        self._setup(store, flush_interval, clock, max_dirty, buffer, name)
        self._flush_lock = asyncio.Lock()

    async def _buf(self, method: str, *args):
        result = getattr(self.buffer, method)(*args)
        return await result if self._buffer_async else result

    async def write(self, key: Hashable, value: Any) -> None:
        if self._due():
            await self.flush()
        with self._outage_raised(key, "write"):
            dirty = await self._buf("write", key, value)
        self._rec.record("write", key)
        if self.max_dirty is not None and dirty >= self.max_dirty:
            await self.flush()

    async def read(self, key: Hashable) -> Any:
        if self._due():
            await self.flush()
        try:
            found, value = await self._buf("read", key)
        except self._outage:
            self._rec.record("backend_error", key, op="read")
            found, value = False, None
        if found:
            self._rec.record("hit", key)
            return value
        self._rec.record("miss", key)
        return await aread(self.store, key)

    async def flush(self) -> int:
        async with self._flush_lock:
            self._last_flush = self._clock()
            dirty = await self._buf("dirty")
            written = 0
            try:
                batch = getattr(self.store, "awrite_many", None)
                if callable(batch) and dirty:
                    await batch([(k, v) for k, v, _ in dirty])
                    written = len(dirty)
                else:
                    sync_batch = getattr(self.store, "write_many", None)
                    if callable(sync_batch) and dirty and not isinstance(self.store, AsyncStore):
                        sync_batch([(k, v) for k, v, _ in dirty])
                        written = len(dirty)
                    else:
                        for key, value, _ in dirty:
                            await awrite(self.store, key, value)
                            written += 1
            finally:
                await self._buf("clean", dirty[:written])
                self._rec.record("flush", written=written)
            return written

    async def dirty_count(self) -> int:
        return await self._buf("dirty_count")

    async def aclose(self) -> None:
        await self.flush()

    async def __aenter__(self) -> AsyncWriteBackCache:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
