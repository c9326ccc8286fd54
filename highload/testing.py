"""Helpers for testing concurrent code: many callers at the same instant.

A race shows only when callers really overlap. Starting threads one by one lets the first finish
before the last has begun, so :func:`all_at_once` holds every thread at a barrier and releases
them together: the shape of a stampede at a cache expiry, or of a burst at a rate limiter::

    from highload.testing import all_at_once
    results = all_at_once(lambda: cache.get("hot"), threads=32)
    assert db.queries == 1   # single-flight: one load, however many readers
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from highload import _validate

__all__ = ["all_at_once"]

T = TypeVar("T")


def all_at_once(call: Callable[[], T], threads: int = 32, *, timeout: float = 30.0) -> list[T]:
    """Run ``call()`` on ``threads`` threads released together by a barrier; their results, in
    thread order.

    Every thread finishes before this returns. If any calls raise, an ``ExceptionGroup`` of
    their exceptions is raised instead (so one broken caller cannot hide among many good ones).
    ``timeout`` (seconds) bounds the wait at the barrier, and then the calls themselves, so a
    deadlock fails with ``TimeoutError`` instead of hanging.
    """
    if not callable(call):
        raise TypeError(f"call must be a function of no arguments, got {call!r}")
    threads = _validate.integer("threads", threads, minimum=1)
    timeout = _validate.finite_positive("timeout", timeout)
    start = threading.Barrier(threads, timeout=timeout)
    results: list = [None] * threads
    errors: list[tuple[int, BaseException]] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = call()
        except BaseException as exc:  # handed to the caller below, not lost in a thread
            errors.append((i, exc))

    workers = [threading.Thread(target=run, args=(i,), name=f"all_at_once-{i}", daemon=True)
               for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 2 * timeout  # the barrier's wait, then the calls'
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(worker.is_alive() for worker in workers)
    if stuck:
        raise TimeoutError(f"{stuck} of {threads} calls were still running after timeout={timeout!r} s")
    if errors:
        errors.sort(key=lambda pair: pair[0])
        # BaseExceptionGroup is an ExceptionGroup whenever every member is an Exception.
        raise BaseExceptionGroup(f"{len(errors)} of {threads} calls raised", [exc for _, exc in errors])
    return results
