"""Helpers for testing concurrent code: many callers at the same instant.

A race shows only when callers really overlap. Starting threads one by one lets the first finish
before the last has begun, so :func:`all_at_once` holds every thread at a barrier and releases
them together: the shape of a stampede at a cache expiry, or of a burst at a rate limiter::

    from highload.testing import all_at_once
    results = all_at_once(lambda: cache.get("hot"), threads=32)
    assert db.queries == 1   # single-flight: one load, however many readers
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from highload import _validate

__all__ = ["all_at_once", "StallServer"]

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


class StallServer:
    """A TCP server on loopback that accepts every connection and never replies: a stalled Redis
    (or any stalled upstream) for testing timeouts without waiting on a real outage::

        with StallServer() as stall:
            client = highload.redis_client.connect(stall.url)
            client.ping()            # raises redis.exceptions.TimeoutError after socket_timeout

    ``received`` is set once any request bytes arrive, ``requests`` counts reads and
    ``connections`` counts accepted connections, so a test
    can order events ("the limiter is now waiting on Redis") without a stopwatch. :meth:`release`
    ends the stall by closing every connection (clients see the connection drop).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0))
        self.host, self.port = host, self._listener.getsockname()[1]
        self.received = threading.Event()
        self.requests = 0
        self.connections = 0
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="stall-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):  # the poll lets stop() end the loop
                sock = key.fileobj
                if sock is self._listener:
                    conn, _ = self._listener.accept()
                    with self._lock:
                        self._conns.append(conn)
                        self.connections += 1
                    self._selector.register(conn, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if data:
                    with self._lock:
                        self.requests += 1
                    self.received.set()
                else:
                    self._selector.unregister(sock)
                    sock.close()

    def release(self) -> None:
        """Close every accepted connection; new ones are still accepted (and stalled)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self.release()
        self._stop.set()
        self._thread.join(timeout=5)
        self._selector.close()
        self._listener.close()

    def __enter__(self) -> StallServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
