"""Bulkheads: a per-dependency cap on concurrent calls, so one slow dependency cannot take
every worker (e.g. 20 threads for payment, 20 for everything else)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from highload import _validate

from .errors import BulkheadFullError

__all__ = ["Bulkhead", "AsyncBulkhead"]


class _Base:
    def __init__(self, max_concurrent: int, *, max_wait: float = 0.0, name: str = "default") -> None:
        self.max_concurrent = _validate.integer("max_concurrent", max_concurrent, minimum=1)
        self.max_wait = _validate.number("max_wait", max_wait, minimum=0, inclusive=True)
        self.name = name
        self.in_flight = self.rejected = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.in_flight}/{self.max_concurrent} in flight)"


class Bulkhead(_Base):
    """At most ``max_concurrent`` calls at once; others wait up to ``max_wait`` s, then raise
    :class:`BulkheadFullError`."""

    def __init__(self, max_concurrent: int, *, max_wait: float = 0.0, name: str = "default") -> None:
        super().__init__(max_concurrent, max_wait=max_wait, name=name)
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._count = threading.Lock()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        got = self._slots.acquire(timeout=self.max_wait) if self.max_wait else self._slots.acquire(blocking=False)
        if not got:
            with self._count:
                self.rejected += 1
            raise BulkheadFullError(self.name, self.max_concurrent)
        with self._count:
            self.in_flight += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self._count:
                self.in_flight -= 1
            self._slots.release()

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):
            raise TypeError("use AsyncBulkhead for coroutine functions")

        @wraps(fn)
        def limited(*args: Any, **kwargs: Any) -> Any:
            return self.call(fn, *args, **kwargs)

        return limited


class AsyncBulkhead(_Base):
    """The asyncio twin of :class:`Bulkhead` (one event loop's tasks share the slots)."""

    def __init__(self, max_concurrent: int, *, max_wait: float = 0.0, name: str = "default") -> None:
        super().__init__(max_concurrent, max_wait=max_wait, name=name)
        self._slots = asyncio.Semaphore(max_concurrent)

    async def _acquire(self) -> bool:
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: returns without suspending
            return True
        if not self.max_wait:
            return False
        try:
            await asyncio.wait_for(self._slots.acquire(), self.max_wait)
            return True
        except TimeoutError:
            return False

    async def acall(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not await self._acquire():
            self.rejected += 1
            raise BulkheadFullError(self.name, self.max_concurrent)
        self.in_flight += 1
        try:
            return await fn(*args, **kwargs)
        finally:
            self.in_flight -= 1
            self._slots.release()

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        async def limited(*args: Any, **kwargs: Any) -> Any:
            return await self.acall(fn, *args, **kwargs)

        return limited
