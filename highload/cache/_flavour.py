"""The little that really differs between the sync and the asyncio cache: threads or tasks.

The cache's I/O classes are written once, for asyncio, in ``highload/cache/_async/``;
``python scripts/unasync.py`` generates ``highload/cache/_sync/`` from them by renaming
tokens (``async def`` → ``def``, ``await x`` → ``x``, ``AsyncLock`` → ``Lock``, ``acall`` →
``call``, ``aclose`` → ``close``), and a test fails if a generated file was edited by hand.
This module (with :mod:`.flight` and the store access in :mod:`.stores`) holds the names
that renaming pairs up, each spelled for its flavour, so one line of source does the right
thing in both, as httpcore's ``_synchronization.py`` does. It is hand-written and small on
purpose: whatever is not here is written once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Lock", "AsyncLock", "call", "acall", "coroutine", "coroutine_face", "same_state", "check_flavour", "Refresher", "AsyncRefresher"]

log = logging.getLogger("highload.cache")

#: One thread at a time. Reentrant: a store that writes back into its cache from inside a flush
#: must not deadlock its own thread.
Lock = threading.RLock
#: One task at a time.
AsyncLock = asyncio.Lock

_EXAMPLES = {"backend": "AsyncRedisBackend", "buffer": "AsyncRedisBuffer"}


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``. A coroutine result is refused: a sync cache cannot await it (and would
    otherwise cache the coroutine object)."""
    value = fn(*args)
    if inspect.iscoroutine(value):
        value.close()  # never awaited: closed here so Python does not warn about it as well
        raise TypeError(f"{fn!r} returned a coroutine: use the Async... cache with a coroutine function")
    return value


async def acall(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, awaited if it returns an awaitable: the one "maybe async" check, so asyncio
    caches take plain functions and coroutine functions alike."""
    value = fn(*args)
    return await value if inspect.isawaitable(value) else value


def coroutine(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` as a coroutine function with the same name and signature: the asyncio face of an
    in-memory operation (it never waits, so there is nothing to await inside)."""

    @functools.wraps(method)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return run


def coroutine_face(*names: str) -> Callable[[type], type]:
    """A class decorator: the inherited methods ``names`` become coroutines (see :func:`coroutine`),
    so one sans-IO core gives a sync face (itself) and an asyncio face with the same signatures."""

    def decorate(cls: type) -> type:
        for name in names:
            setattr(cls, name, coroutine(getattr(cls, name)))
        return cls

    return decorate


def same_state(obj: Any, core: type, face: type) -> Any:
    """``obj`` as a ``face`` of the in-memory ``core``: ``obj`` itself unless it is the core's other
    face; then a ``face`` sharing its attributes (one state: an asyncio cache can work on the
    memory backend or buffer a sync cache also uses)."""
    if not isinstance(obj, core) or isinstance(obj, face):
        return obj
    view = face.__new__(face)
    view.__dict__ = obj.__dict__
    return view


def check_flavour(obj: Any, method: str, what: str, owner: object, *, asynchronous: bool) -> None:
    """Refuse a ``what`` (backend, buffer) of the other flavour, telling which class to use.

    ``obj.method`` being a coroutine function is what marks an asyncio ``what``.
    """
    coroutines = inspect.iscoroutinefunction(getattr(obj, method, None))
    if asynchronous and not coroutines:
        raise TypeError(f"{what} must be an asyncio {what} (e.g. {_EXAMPLES[what]}), got {obj!r}")
    if coroutines and not asynchronous:
        raise TypeError(f"{what} {obj!r} is asyncio-only: use Async{type(owner).__name__}")


class Refresher:
    """Background refreshes (stale-while-revalidate) on threads, at most one per key at a time.

    They run on ``executor`` (anything with ``submit(fn)``); by default on a small thread pool
    of the refresher's own, started on first use and stopped by :meth:`close`.
    """

    def __init__(self, executor: concurrent.futures.Executor | None, name: str) -> None:
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise TypeError(f"executor must have submit(fn), got {executor!r}")
        self._executor = executor
        self._name = name
        self._own: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._running: set[Hashable] = set()
        self._futures: set[concurrent.futures.Future] = set()

    def start(self, key: Hashable, refresh: Callable[[], Any]) -> None:
        """Run ``refresh()`` in the background unless a refresh of ``key`` is running already.

        Its error is logged, not raised: the stale value keeps being served meanwhile.
        """
        with self._lock:
            if key in self._running:
                return
            self._running.add(key)

        def run() -> None:
            try:
                refresh()
            except Exception:  # recorded by the cache as load_error
                log.warning("background refresh of %r failed", key, exc_info=True)
            finally:
                with self._lock:
                    self._running.discard(key)

        try:
            future = self._pool().submit(run)
        except BaseException:
            with self._lock:
                self._running.discard(key)
            raise
        if isinstance(future, concurrent.futures.Future):
            with self._lock:
                self._futures.add(future)
            future.add_done_callback(self._forget)

    def wait(self) -> None:
        """Block until the refreshes started so far have finished."""
        with self._lock:
            pending = list(self._futures)
        concurrent.futures.wait(pending)

    def close(self) -> None:
        """Finish the refreshes and stop the refresher's own pool (a given executor is left running)."""
        if self._own is not None:
            self._own.shutdown(wait=True)
            self._own = None

    def _forget(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def _pool(self):
        if self._executor is not None:
            return self._executor
        with self._lock:
            if self._own is None:
                self._own = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix=self._name)
            return self._own


class AsyncRefresher:
    """Background refreshes as tasks, at most one per key at a time.

    By default each refresh is a task on the running loop. ``executor`` is anything with
    ``submit(fn)`` that runs the coroutine function ``fn`` and returns its task (or None),
    e.g. one that calls ``task_group.create_task(fn())``.
    """

    def __init__(self, executor: Any | None, name: str) -> None:
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise TypeError(f"executor must have submit(fn), got {executor!r}")
        self._executor = executor
        self._name = name
        self._running: dict[Hashable, Any] = {}

    def start(self, key: Hashable, refresh: Callable[[], Any]) -> None:
        """Start ``refresh()`` unless a refresh of ``key`` is running; its error is logged."""
        if key in self._running:
            return

        async def run() -> None:
            try:
                await refresh()
            except Exception:  # recorded by the cache as load_error
                log.warning("background refresh of %r failed", key, exc_info=True)
            finally:
                self._running.pop(key, None)

        self._running[key] = None  # marked before it starts: a read in between starts no second one
        try:
            task = asyncio.ensure_future(run()) if self._executor is None else self._executor.submit(run)
        except BaseException:
            self._running.pop(key, None)
            raise
        if key in self._running and task is not None:  # (an executor may have run it to the end already)
            self._running[key] = task

    async def wait(self) -> None:
        """Wait for the refreshes started so far."""
        pending = [task for task in self._running.values() if task is not None and inspect.isawaitable(task)]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        """Wait for the refreshes: tasks have no pool to stop."""
        await self.wait()
