"""Lesson 09's opening story as code: a payment service that hangs, and the workers it holds.

* :func:`workers_held` is the back-of-the-envelope model behind the first chart: how many
  workers are busy with calls to a hung dependency, with a timeout and optionally a breaker.
* :class:`HungPayment` makes the same hang with real threads, to show a :class:`Bulkhead` at
  work: each call holds a slot until :meth:`HungPayment.release`.
"""

from __future__ import annotations

import threading

from highload.resilience import Bulkhead, BulkheadFullError

__all__ = ["workers_held", "HungPayment", "catalog"]


def workers_held(timeout: float, breaker: int | None = None, *, rate: int = 100, pool: int = 200,
                 seconds: float = 8.0) -> tuple[list[int], int]:
    """Workers busy at each arrival (``rate`` calls/s for ``seconds``) when payment hangs at t = 0.

    Each admitted call holds a worker for ``timeout`` s and then fails. A breaker learns of a
    failure only when that call times out; once it has seen ``breaker`` failures it refuses new
    calls at once, and a refused call holds no worker. Returns the busy count per arrival and
    how many calls found the pool full.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    in_flight: list[float] = []
    failures, held, pool_full = 0, [], 0
    for i in range(int(seconds * rate)):
        t = i / rate
        failures += sum(end <= t for end in in_flight)
        in_flight = [end for end in in_flight if end > t]
        if breaker is None or failures < breaker:
            if len(in_flight) < pool:
                in_flight.append(t + timeout)
            else:
                pool_full += 1
        held.append(len(in_flight))
    return held, pool_full


class HungPayment:
    """A payment call that hangs on real threads until :meth:`release`.

    :meth:`flood` starts ``n`` calls through a bulkhead, one thread each, and returns how many
    the bulkhead refused. Each start waits until its call holds a slot or was refused, so a run
    is the same every time.
    """

    def __init__(self, wait_limit: float = 10.0) -> None:
        self.wait_limit = wait_limit          # no thread waits longer than this, whatever happens
        self._hang = threading.Event()
        self._threads: list[threading.Thread] = []

    def flood(self, bulkhead: Bulkhead, n: int) -> int:
        refused = []
        for _ in range(n):
            started = threading.Event()

            def request(started: threading.Event = started) -> None:
                try:
                    bulkhead.call(lambda: (started.set(), self._hang.wait(self.wait_limit)))
                except BulkheadFullError:
                    refused.append(1)
                    started.set()

            thread = threading.Thread(target=request, daemon=True)
            thread.start()
            started.wait(self.wait_limit)
            self._threads.append(thread)
        return len(refused)

    def release(self) -> None:
        """Let every hung call return, and wait for their threads."""
        self._hang.set()
        for thread in self._threads:
            thread.join(self.wait_limit)
        self._threads.clear()
        self._hang.clear()

    def __enter__(self) -> HungPayment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def catalog(bulkhead: Bulkhead) -> str:
    """A healthy catalog request through ``bulkhead``: its answer, or why it was refused."""
    try:
        return bulkhead.call(lambda: "200 products")
    except BulkheadFullError as error:
        return f"refused ({error})"
