"""Single-flight: concurrent callers for one key share one call instead of each making their own.

This is the in-process half of stampede protection (Go's ``singleflight``). Across
processes, the Redis backend adds a ``SET NX PX`` lock on top.

Threads and tasks wait differently, so this is one of the few pairs written twice on
purpose (see :mod:`highload.cache._flavour`): the generated sync caches use
:class:`SingleFlight` where their asyncio source says :class:`AsyncSingleFlight`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

__all__ = ["SingleFlight", "AsyncSingleFlight", "BUSY"]

#: returned by ``try_do`` when a call for the key is already in flight
BUSY: Any = type("Busy", (), {"__repr__": lambda self: "BUSY"})()


class _Call:
    __slots__ = ("done", "value", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class SingleFlight:
    """Thread-safe: the first caller of a key runs ``fn``; callers arriving meanwhile wait for it."""

    def __init__(self) -> None:
        self._calls: dict[Hashable, _Call] = {}
        self._lock = threading.Lock()

    def do(self, key: Hashable, fn: Callable[[], Any], on_wait: Callable[[], None] | None = None) -> Any:
        """Run ``fn`` or join the call already running for ``key``; its error reaches every caller.

        ``on_wait`` runs in each caller that joins, just before it blocks.
        """
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if leader:
                call = self._calls[key] = _Call()
        if leader:
            return self._run(key, call, fn)
        if on_wait is not None:
            on_wait()
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.value

    def try_do(self, key: Hashable, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` unless a call for ``key`` is in flight; then return :data:`BUSY` at once."""
        with self._lock:
            if key in self._calls:
                return BUSY
            call = self._calls[key] = _Call()
        return self._run(key, call, fn)

    def busy(self, key: Hashable) -> bool:
        """Whether a call for ``key`` is running now."""
        return key in self._calls

    def _run(self, key: Hashable, call: _Call, fn: Callable[[], Any]) -> Any:
        try:
            call.value = fn()
            return call.value
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()


class AsyncSingleFlight:
    """The asyncio flavour: one task per key runs the call; every caller awaits it, shielded.

    A caller that is cancelled stops waiting, but the shared load carries on for the rest.
    """

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task] = {}

    async def do(
        self, key: Hashable, fn: Callable[[], Awaitable[Any]], on_wait: Callable[[], None] | None = None
    ) -> Any:
        task = self._tasks.get(key)
        if task is None:
            task = self._start(key, fn)
        elif on_wait is not None:
            on_wait()
        return await asyncio.shield(task)

    async def try_do(self, key: Hashable, fn: Callable[[], Awaitable[Any]]) -> Any:
        if key in self._tasks:
            return BUSY
        return await asyncio.shield(self._start(key, fn))

    def busy(self, key: Hashable) -> bool:
        return key in self._tasks

    def _start(self, key: Hashable, fn: Callable[[], Awaitable[Any]]) -> asyncio.Task:
        task = asyncio.ensure_future(fn())
        self._tasks[key] = task

        def finished(t: asyncio.Task) -> None:
            if self._tasks.get(key) is t:
                del self._tasks[key]
            if not t.cancelled():
                t.exception()  # retrieved here, so an error nobody awaited is not logged as lost

        task.add_done_callback(finished)
        return task
