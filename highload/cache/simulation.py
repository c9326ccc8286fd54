"""Lesson 03's cache simulations: what a read-through cache saves, and what a stampede costs.

* :func:`simulate_hit_ratio` replays a seeded read workload (Zipf-popular keys, random updates
  to the database) through a real :class:`~highload.cache.CacheAside`, or any class with its
  contract (``impl=``), on a :class:`~highload.clock.ManualClock`, and counts hits, database
  queries and stale reads.
* :func:`simulate_stampede` runs many readers of one hot key across its expiry through the real
  :class:`~highload.cache.AsyncCacheAside`, with no protection, a single-flight lock or XFetch,
  in virtual time (:func:`~highload.clock.run_in_virtual_time`), and records every database
  query and every read that had to wait.

Nothing sleeps and nothing depends on the machine's speed: the same arguments give the same
numbers. No extra is needed; ``highload.widgets.HitRatioLab`` and ``StampedeVisualizer`` draw
these results::

    from highload.cache.simulation import simulate_hit_ratio, stampede
    simulate_hit_ratio(zipf_s=1.0, cache_size=100, ttl=60).hit_ratio
    stampede(("none", "lock"), readers=50)["lock"].loads
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from highload import _simulate, _validate
from highload.cache import AsyncCacheAside, CacheAside
from highload.clock import ManualClock, run_in_virtual_time

__all__ = [
    "PROTECTIONS",
    "DEFAULT_PROTECTIONS",
    "Row",
    "HitRatioResult",
    "simulate_hit_ratio",
    "zipf_weights",
    "Read",
    "StampedeResult",
    "simulate_stampede",
    "stampede",
]

#: The stampede protections :func:`simulate_stampede` knows, in drawing order.
PROTECTIONS = ("none", "lock", "xfetch", "xfetch + lock")
DEFAULT_PROTECTIONS = ("none", "lock", "xfetch")
MAX_KEYS = 100_000
MAX_READERS = 1000
#: A stampede reader's pause between reads, as fractions of the DB query time: always under 1,
#: so every reader reads again while a load started at the expiry is still running.
THINK = (0.3, 0.9)
#: What ``impl=`` must be, for the error when it is not.
CONTRACT = "a cache class like CacheAside(loader, ttl, max_entries=..., clock=...)"


def _check_impl(impl) -> None:
    _simulate.check_impl(impl, CONTRACT)


def _impl_name(impl) -> str:
    return _simulate.impl_name(impl, "CacheAside")


# == hit ratio ===================================================================================

class Row(NamedTuple):
    """What the simulated database returns for a key: the key and its version (bumped by each update)."""

    key: str
    version: int


def zipf_weights(keys: int, s: float) -> list[float]:
    """Popularity of key ranks ``0 .. keys-1``: rank ``k`` is read in proportion to ``1 / (k + 1) ** s``.

    ``s = 0`` is uniform; ``s = 1`` is the classic Zipf law of web caches (the 2nd key is read
    half as often as the 1st, the 10th a tenth as often); larger ``s`` concentrates reads on
    fewer keys. The weights sum to 1.

    >>> [round(w, 3) for w in zipf_weights(3, 1.0)]
    [0.545, 0.273, 0.182]
    """
    keys = _validate.integer("keys", keys, minimum=1)
    s = _validate.number("zipf_s", s, minimum=0, inclusive=True)
    raw = [1.0 / (k + 1) ** s for k in range(keys)]
    total = sum(raw)
    return [w / total for w in raw]


@dataclass(frozen=True)
class HitRatioResult:
    """One replay of :func:`simulate_hit_ratio`.

    ``hits`` counts reads that did not call the loader, ``loads`` every loader call (the
    database queries), ``stale`` reads that returned a version older than the database's
    latest. The ``*_over_time`` tuples hold one value per time slice, ending at ``times``.
    ``stats`` is what the cache itself reported (its ``stats`` property), or None.
    """

    reads: int
    hits: int
    loads: int
    stale: int
    updates: int
    duration: float
    read_rate: float
    hottest_share: float
    times: tuple[float, ...]
    hit_ratio_over_time: tuple[float, ...]
    loads_per_second_over_time: tuple[float, ...]
    stale_share_over_time: tuple[float, ...]
    stats: Mapping[str, int] | None = None

    @property
    def hit_ratio(self) -> float:
        """Reads served from the cache, per read."""
        return self.hits / self.reads

    @property
    def stale_ratio(self) -> float:
        """Reads that returned an out-of-date value, per read."""
        return self.stale / self.reads

    @property
    def db_load(self) -> float:
        """Database queries per second (loader calls over the whole replay)."""
        return self.loads / self.duration


class _Database:
    """The replay's database: one version per key, bumped by updates; counts queries."""

    def __init__(self, names: list[str]) -> None:
        self.version = dict.fromkeys(names, 0)
        self.queries = 0

    def load(self, key) -> Row:
        self.queries += 1
        return Row(key, self.version[key])




def simulate_hit_ratio(
    zipf_s: float = 1.0,
    cache_size: int = 100,
    ttl: float = 60.0,
    update_rate: float = 2.0,
    *,
    keys: int = 1000,
    reads: int = 15_000,
    read_rate: float = 50.0,
    invalidate_on_update: bool = False,
    seed: int = 0,
    impl: Callable[..., object] | None = None,
    slices: int = 30,
) -> HitRatioResult:
    """Replay ``reads`` reads of ``keys`` keys through a fresh cache-aside cache; count what happened.

    The workload, all on one :class:`ManualClock` and all from ``seed``:

    * a read every ``1 / read_rate`` seconds, of a key drawn with :func:`zipf_weights`
      (``zipf_s``): a few hot keys, a long tail of cold ones;
    * updates to the database at ``update_rate`` per second on average (a Poisson process),
      each bumping the version of a key picked uniformly at random. The cache is not told,
      unless ``invalidate_on_update`` is set, when each update also calls
      ``cache.invalidate(key)`` (what ``CacheAside.write`` does).

    The cache is ``impl(loader, ttl, max_entries=cache_size, clock=clock)``: by default
    :class:`highload.cache.CacheAside` on its memory backend, or a learner's class with the
    same contract. The loader takes no clock time. A read that returns a value for another
    key raises ``ValueError``; whatever ``impl`` raises propagates, with a note saying where.

    >>> r = simulate_hit_ratio(zipf_s=1.0, cache_size=100, ttl=60, update_rate=0, reads=5000)
    >>> r.loads == r.reads - r.hits, r.stale
    (True, 0)
    """
    zipf_s = _validate.number("zipf_s", zipf_s, minimum=0, inclusive=True)
    cache_size = _validate.integer("cache_size", cache_size, minimum=1)
    ttl = _validate.finite_positive("ttl", ttl)
    update_rate = _validate.number("update_rate", update_rate, minimum=0, inclusive=True)
    if update_rate == math.inf:
        raise ValueError(f"update_rate must be finite, got {update_rate!r}")
    keys = _validate.integer("keys", keys, minimum=1)
    if keys > MAX_KEYS:
        raise ValueError(f"keys must be <= {MAX_KEYS}, got {keys!r}")
    reads = _validate.integer("reads", reads, minimum=1)
    read_rate = _validate.finite_positive("read_rate", read_rate)
    if not isinstance(invalidate_on_update, bool):
        raise TypeError(f"invalidate_on_update must be True or False, got {invalidate_on_update!r}")
    seed = _simulate.check_seed(seed)
    slices = _validate.integer("slices", slices, minimum=1)
    _check_impl(impl)
    make = CacheAside if impl is None else impl
    name = _impl_name(impl)

    names = [f"item:{k}" for k in range(keys)]
    weights = zipf_weights(keys, zipf_s)
    cumulative = list(itertools.accumulate(weights))
    rng = random.Random(seed)
    picks = rng.choices(range(keys), cum_weights=cumulative, k=reads)
    duration = reads / read_rate
    update_rng = random.Random(seed + 1)
    updates: list[tuple[float, int]] = []
    if update_rate > 0:
        t = update_rng.expovariate(update_rate)
        while t < duration:
            updates.append((t, update_rng.randrange(keys)))
            t += update_rng.expovariate(update_rate)

    clock = ManualClock()
    db = _Database(names)
    cache = _simulate.call(f"{name}(loader, {ttl:g}, max_entries={cache_size}, clock=...)",
                  make, db.load, ttl, max_entries=cache_size, clock=clock)
    get = getattr(cache, "get", None)
    if not callable(get):
        raise TypeError(f"{name} has no get(key): the cache-aside contract is get(key), invalidate(key), stats")
    invalidate = getattr(cache, "invalidate", None)
    if invalidate_on_update and not callable(invalidate):
        raise TypeError(f"{name} has no invalidate(key), which invalidate_on_update needs")

    per_slice = duration / slices
    slice_reads, slice_hits, slice_loads, slice_stale = ([0] * slices for _ in range(4))
    hits = stale = 0
    next_update = 0
    for i, rank in enumerate(picks):
        now = (i + 1) / read_rate
        while next_update < len(updates) and updates[next_update][0] <= now:
            when, k = updates[next_update]
            clock.set(when)
            db.version[names[k]] += 1
            if invalidate_on_update:
                _simulate.call(f"{name}.invalidate({names[k]!r}) at update #{next_update + 1}", invalidate, names[k])
            next_update += 1
        clock.set(now)
        key = names[rank]
        before = db.queries
        value = _simulate.call(f"{name}.get({key!r}) at read #{i + 1}", get, key)
        if not isinstance(value, Row) or value.key != key:
            raise ValueError(f"{name}.get({key!r}) returned {value!r} at read #{i + 1}: "
                             f"it must return what loader({key!r}) returned")
        b = min(slices - 1, int((now - 1e-9) / per_slice))
        slice_reads[b] += 1
        slice_loads[b] += db.queries - before
        if db.queries == before:
            hits += 1
            slice_hits[b] += 1
        if value.version < db.version[key]:
            stale += 1
            slice_stale[b] += 1

    stats = getattr(cache, "stats", None)
    stats = dict(stats) if isinstance(stats, Mapping) else None
    close = getattr(cache, "close", None)
    if callable(close):
        close()
    hottest = max(1, keys // 100)
    return HitRatioResult(
        reads=reads, hits=hits, loads=db.queries, stale=stale, updates=next_update,
        duration=duration, read_rate=read_rate, hottest_share=sum(weights[:hottest]),
        times=tuple(per_slice * (b + 1) for b in range(slices)),
        hit_ratio_over_time=tuple(h / n if n else 0.0 for h, n in zip(slice_hits, slice_reads, strict=True)),
        loads_per_second_over_time=tuple(n / per_slice for n in slice_loads),
        stale_share_over_time=tuple(s / n if n else 0.0 for s, n in zip(slice_stale, slice_reads, strict=True)),
        stats=stats,
    )


# == stampede ====================================================================================


class Read(NamedTuple):
    """One read in a stampede run: who, when it started (seconds from expiry), how long it waited."""

    reader: int
    start: float
    wait: float


@dataclass(frozen=True)
class StampedeResult:
    """One run of :func:`simulate_stampede`. Times are seconds relative to the key's expiry.

    ``queries`` holds the start time of every database query after the priming one;
    ``reads`` every read with its wait. ``counters`` are the cache's own
    (:attr:`highload.cache.AsyncCacheAside.counters`), priming included.
    """

    protection: str
    readers: int
    db_latency: float
    xfetch_beta: float
    window: tuple[float, float]
    queries: tuple[float, ...]
    reads: tuple[Read, ...]
    counters: Mapping[str, int]

    @property
    def loads(self) -> int:
        """Database queries for the hot key during the run (the priming load not counted)."""
        return len(self.queries)

    @property
    def first_query(self) -> float | None:
        """When the first query started, relative to expiry (negative: before it); None if none ran."""
        return self.queries[0] if self.queries else None

    @property
    def loads_before_expiry(self) -> int:
        return sum(t < 0 for t in self.queries)

    @property
    def waits(self) -> tuple[Read, ...]:
        """The reads that were not answered at once (they loaded, or waited for a load)."""
        return tuple(r for r in self.reads if r.wait > 1e-12)

    @property
    def worst_wait(self) -> float:
        return max((r.wait for r in self.reads), default=0.0)

    def wait_of(self, reader: int) -> float:
        """The longest wait of one reader."""
        return max((r.wait for r in self.reads if r.reader == reader), default=0.0)


def _check_protection(protection) -> str:
    return _validate.choice("protection", protection, PROTECTIONS)


def _check_protections(protection) -> tuple[str, ...]:
    if isinstance(protection, str):
        protection = (protection,)
    if not isinstance(protection, Iterable):
        raise TypeError(f"protection must be names from {PROTECTIONS}, got {protection!r}")
    picked = tuple(protection)
    unknown = [p for p in picked if p not in PROTECTIONS]
    if unknown or not picked:
        raise ValueError(f"protection must be one or more of {PROTECTIONS}, got {list(picked)!r}")
    return tuple(p for p in PROTECTIONS if p in picked)


def _check_readers(readers) -> int:
    readers = _validate.integer("readers", readers, minimum=1)
    if readers > MAX_READERS:
        raise ValueError(f"readers must be <= {MAX_READERS}, got {readers!r}")
    return readers


def _check_latency(db_latency) -> float:
    db_latency = _validate.finite_positive("db_latency", db_latency)
    if db_latency > 10:
        raise ValueError(f"db_latency must be <= 10 seconds, got {db_latency!r}")
    return db_latency


def _check_beta(xfetch_beta) -> float:
    xfetch_beta = _validate.finite_positive("xfetch_beta", xfetch_beta)
    if xfetch_beta > 10:
        raise ValueError(f"xfetch_beta must be <= 10, got {xfetch_beta!r}")
    return xfetch_beta



def simulate_stampede(
    protection: str = "none",
    readers: int = 50,
    db_latency: float = 0.5,
    *,
    xfetch_beta: float = 1.0,
    db_connections: int = 8,
    seed: int = 0,
) -> StampedeResult:
    """``readers`` clients keep reading one hot key across its expiry; count the database queries.

    What runs is the real :class:`highload.cache.AsyncCacheAside` on its memory backend,
    with ``protection`` as its configuration: ``"none"``; ``"lock"`` (``single_flight=True``:
    concurrent misses share one load); ``"xfetch"`` (``xfetch_beta``: the cache's own
    :func:`~highload.cache.xfetch_due` test refreshes early, on a seeded rng); or
    ``"xfetch + lock"`` (both: one early refresh while the others are served the cached value).

    What is modelled around it, in simulated time (an asyncio loop whose clock is a
    :class:`ManualClock`, so nothing sleeps and the same arguments give the same numbers):

    * the key is loaded once, long before; its entry expires at time 0 of the result;
    * each reader starts at ``-lead`` (``lead = db_latency * max(8 * xfetch_beta, 2)``) and
      loops: read the key, wait for the answer, "think" for a random ``0.3 .. 0.9 *
      db_latency`` seconds (from ``seed``), read again, until ``3 * db_latency`` after expiry.
      So every reader asks at least once while a load is running: the worst case a hot key
      meets;
    * the database answers a query in ``db_latency`` seconds, at most ``db_connections``
      at once; more queries wait for a connection, as on a real connection pool. The cache
      measures a load's duration (XFetch's delta) on the same clock.

    Not modelled: the cache's own cost (a memory lookup takes no time), network delays, and
    threads: asyncio tasks stand in for a server's concurrent requests.
    """
    protection = _check_protection(protection)
    readers = _check_readers(readers)
    db_latency = _check_latency(db_latency)
    xfetch_beta = _check_beta(xfetch_beta)
    db_connections = _validate.integer("db_connections", db_connections, minimum=1)
    seed = _simulate.check_seed(seed)
    options: dict[str, Any] = {}
    if protection in ("lock", "xfetch + lock"):
        options["single_flight"] = True
    if protection.startswith("xfetch"):
        options["xfetch_beta"] = xfetch_beta
    lead = db_latency * max(8 * xfetch_beta, 2.0)
    tail = 3 * db_latency
    ttl = lead + 60.0

    clock = ManualClock()
    query_times: list[float] = []
    reads: list[Read] = []

    async def main() -> tuple[float, dict[str, int]]:
        connections = asyncio.Semaphore(db_connections)

        async def query(key):
            query_times.append(clock())
            async with connections:
                await asyncio.sleep(db_latency)
            return f"{key} as of t={clock():.3f}"

        cache = AsyncCacheAside(query, ttl, clock=clock, rng=seed, name=protection, **options)
        await cache.get("hot")
        entry = await cache.peek("hot")
        expiry = entry.expires
        start, end = expiry - lead, expiry + tail

        async def reader(i: int) -> None:
            think = random.Random(f"{seed}:{i}")
            await asyncio.sleep(start - clock() + think.uniform(0, THINK[1] * db_latency))
            while clock() < end:
                began = clock()
                await cache.get("hot")
                reads.append(Read(i, began - expiry, clock() - began))
                await asyncio.sleep(think.uniform(*THINK) * db_latency)

        await asyncio.gather(*(reader(i) for i in range(readers)))
        return expiry, cache.counters

    expiry, counters = run_in_virtual_time(main, clock)
    return StampedeResult(
        protection=protection, readers=readers, db_latency=db_latency, xfetch_beta=xfetch_beta,
        window=(-lead, tail), queries=tuple(t - expiry for t in query_times[1:]),
        reads=tuple(sorted(reads, key=lambda r: (r.start, r.reader))), counters=counters,
    )


def stampede(
    protection: Iterable[str] = DEFAULT_PROTECTIONS,
    readers: int = 50,
    db_latency: float = 0.5,
    *,
    xfetch_beta: float = 1.0,
    db_connections: int = 8,
    seed: int = 0,
) -> dict[str, StampedeResult]:
    """:func:`simulate_stampede` for each protection, on the same readers and think times."""
    return {p: simulate_stampede(p, readers, db_latency, xfetch_beta=xfetch_beta,
                                 db_connections=db_connections, seed=seed)
            for p in _check_protections(protection)}
