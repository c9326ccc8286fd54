"""Scatter-gather across shards with a per-shard timeout, and a MapReduce aggregate on top.

A shard that does not answer in time, or raises, is *named* in the result: a partial
answer is never silently presented as the whole one.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["Gathered", "scatter_gather", "map_reduce", "MapReduced"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Gathered(Generic[T]):
    results: dict[str, T] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        """Every shard without a result: timed out or failed."""
        return sorted([*self.timed_out, *self.failed])

    @property
    def complete(self) -> bool:
        return not self.timed_out and not self.failed


def scatter_gather(shards: Mapping[str, Callable[[], T]], timeout: float,
                   executor: cf.Executor | None = None) -> Gathered[T]:
    """Call every shard's function at once; wait at most ``timeout`` seconds for each.

    All calls start together, so one deadline ``timeout`` after the start is each shard's
    own timeout. A late shard keeps running in its thread, but its answer is not used.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0, got {timeout!r}")
    own = executor is None
    pool = executor or cf.ThreadPoolExecutor(max_workers=max(1, len(shards)), thread_name_prefix="scatter")
    try:
        futures = {pool.submit(fn): name for name, fn in shards.items()}
        done, pending = cf.wait(futures, timeout=timeout)
        out: Gathered[T] = Gathered()
        for future in done:
            name = futures[future]
            error = future.exception()
            if error is None:
                out.results[name] = future.result()
            else:
                out.failed[name] = error
        out.timed_out = sorted(futures[f] for f in pending)
        out.results = dict(sorted(out.results.items()))
        return out
    finally:
        if own:
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class MapReduced(Generic[R]):
    value: R
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing


def map_reduce(shards: Mapping[str, Iterable[Any]], map_fn: Callable[[Iterable[Any]], R],
               reduce_fn: Callable[[R, R], R], initial: R, timeout: float) -> MapReduced[R]:
    """Map every shard's rows where they live, then reduce the partial answers.

    ``map_reduce(orders_by_shard, lambda rows: Counter(r["product"] for r in rows),
    operator.add, Counter(), timeout=1.0)`` counts orders per product over every shard.
    """
    gathered = scatter_gather({name: (lambda rows=rows: map_fn(rows)) for name, rows in shards.items()}, timeout)
    value = initial
    for partial in gathered.results.values():
        value = reduce_fn(value, partial)
    return MapReduced(value, gathered.missing)
