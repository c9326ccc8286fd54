"""Timing for lessons 02 and 03: several callables run interleaved, so a slow moment of the shared
machine hits each of them alike, and a batch of reads timed with the database queries it cost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

__all__ = ["interleaved", "time_reads"]


def interleaved(calls: Mapping[str, Callable[..., object]], rounds: int = 2000, *,
                pass_round: bool = False,
                timer: Callable[[], int] = time.perf_counter_ns) -> dict[str, list[float]]:
    """Call each of ``calls`` once per round, in turn, for ``rounds`` rounds; each call's
    durations in microseconds. With ``pass_round`` each call gets the round's number (0, 1, …),
    e.g. to write a new key each time. ``timer`` returns nanoseconds (tests pass a fake one)."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(rounds):
        for name, call in calls.items():
            start = timer()
            call(i) if pass_round else call()
            samples[name].append((timer() - start) / 1000)
    return samples


def time_reads(read: Callable[[str], object], keys: Iterable[str], db) -> tuple[float, int]:
    """Call ``read(key)`` for every key; the seconds it took and the queries ``db`` (anything with
    a ``queries`` counter, like :class:`highload.lab.database.Database`) ran meanwhile."""
    queries, start = db.queries, time.perf_counter()
    for key in keys:
        read(key)
    return time.perf_counter() - start, db.queries - queries
