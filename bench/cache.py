"""``python -m bench cache``: highload.cache against a raw Redis GET, cachetools, and itself.

1. **Redis hit path.** ``CacheAside(backend=RedisBackend, name="t").get(key)`` of a cached key against a
   bare redis-py ``GET`` of the same bytes: one round trip each, so the ratio shows what the
   cache adds (decoding the entry, the freshness check, counters). Target ≥ 0.9×.
2. **Near-cache hit.** ``NearCache.get(key)`` served from its local LRU against
   ``cachetools.TTLCache[key]``, the usual in-process TTL cache. Target ≥ 0.5×.
3. **100 concurrent misses.** 100 threads (each with a connection already open) released together ask for one missing
   key; the loader takes 20 ms (a slow query). Loader calls without protection and with
   ``single_flight=True`` (in-process flight plus a Redis ``SET NX PX`` lock). Target: exactly 1.
4. **Like counter.** 10,000 likes on 100 posts (Zipf-distributed, seeded), 1 ms apart on a
   ManualClock: how many database writes write-through and write-back (flush every 1 s) make.

Sides of 1 and 2 run interleaved in alternating chunks inside every repeat (bench/_harness.py);
each repeat gives one ratio and the table shows their median. Needs redis-server.
"""

from __future__ import annotations

import platform
import random
import shutil
import statistics
import threading
import time
from collections.abc import Callable, MutableMapping

from highload.cache import CacheAside, NearCache, RedisBackend, WriteBackCache, WriteThroughCache
from highload.clock import ManualClock
from highload.testing import all_at_once

from ._harness import Settings, interleave_group, redis_server
from ._report import RatioRow, progress, ratio_table, redis_server_version, table, version

HIT = "Redis hit path (one round trip each)"
NEAR = "in-process hit"
MISSES = "100 concurrent misses of one key (loader: 20 ms)"
LIKES = "like counter: 10,000 likes on 100 posts, 1 ms apart"

VALUE = {"id": "u1", "name": "Ada Lovelace", "email": "ada@example.com", "plan": "premium"}


def _calls(fn: Callable, *args) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            fn(*args)

    return run


def hit_rows(url: str, s: Settings) -> list[RatioRow]:
    import redis

    client = redis.Redis.from_url(url)
    backend = RedisBackend(client, prefix="hl:bench:cache:")
    cache = CacheAside(lambda key: VALUE, ttl=3600, backend=backend, name="t")
    assert cache.get("u1") == VALUE and cache.stats["loads"] == 1
    raw = client.get(cache.backend.entry_key("u1"))
    client.set("hl:bench:raw", raw)  # the same bytes, under a plain key
    progress("Redis hit path vs GET")
    measured = interleave_group(_calls(client.get, "hl:bench:raw"),
                                {"highload CacheAside(RedisBackend).get(key)": _calls(cache.get, "u1")}, s)
    assert cache.stats["loads"] == 1, "every timed get was a hit"
    client.delete("hl:bench:raw")
    backend.clear()
    client.close()
    return [RatioRow(HIT, case, "redis-py GET of the same bytes", paired, target=0.9)
            for case, paired in measured.items()]


def near_rows(url: str, s: Settings) -> list[RatioRow]:
    import cachetools
    import redis

    client = redis.Redis.from_url(url)
    near = NearCache(lambda key: VALUE, ttl=3600, backend=RedisBackend(client, prefix="hl:bench:near:"),
                     max_entries=1024, name="t")
    assert near.get("u1") == VALUE
    ttl_cache = cachetools.TTLCache(maxsize=1024, ttl=3600)
    ttl_cache["u1"] = VALUE
    progress("near-cache hit vs cachetools.TTLCache")
    measured = interleave_group(_calls(ttl_cache.__getitem__, "u1"),
                                {"highload NearCache.get(key), local hit": _calls(near.get, "u1")}, s)
    assert near.remote.stats["loads"] == 1 and near.stats["misses"] == 1
    near.close()
    client.close()
    return [RatioRow(NEAR, case, f"cachetools {version('cachetools')} TTLCache[key]", paired, target=0.5)
            for case, paired in measured.items()]


def stampede(url: str, single_flight: bool, readers: int = 100) -> tuple[int, int]:
    """(loader calls, callers that got the value) for ``readers`` threads missing one key together."""
    import redis

    client = redis.Redis.from_url(url)
    calls = 0
    count = threading.Lock()

    def slow_query(key):
        nonlocal calls
        with count:
            calls += 1
        time.sleep(0.02)  # the query a stampede repeats: real time, since real threads wait on it
        return VALUE

    cache = CacheAside(slow_query, ttl=60, backend=RedisBackend(client, prefix=f"hl:bench:st{single_flight}:"),
                       single_flight=single_flight, lock_ttl=30, name="t")
    cache.backend.clear()
    # One open connection per reader beforehand, so the race is between the readers' lookups and
    # the first load, not between TCP handshakes.
    pool = client.connection_pool
    warm = [pool.get_connection() for _ in range(readers)]
    for connection in warm:
        connection.connect()
        pool.release(connection)
    got = all_at_once(lambda: cache.get("hot") == VALUE, threads=readers)
    cache.backend.clear()
    client.close()
    return calls, sum(got)


class CountingStore(dict):
    """The database of the like counter: a dict that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key, value) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def likes(make_cache: Callable[[MutableMapping, ManualClock], object], seed: int = 7) -> int:
    """Database writes one write policy makes for the like workload (likes 1 ms apart)."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(100)]
    posts = rng.choices([f"post:{i}" for i in range(100)], weights=weights, k=10_000)
    store, clock = CountingStore(), ManualClock()
    cache = make_cache(store, clock)
    counts: dict[str, int] = {}
    for post in posts:
        counts[post] = counts.get(post, 0) + 1
        cache.write(post, counts[post])
        clock.advance(0.001)
    if isinstance(cache, WriteBackCache):
        cache.flush()  # what the last interval left dirty
    assert store == counts, "both policies end with every like in the database"
    return store.writes


def run(s: Settings) -> int:
    print(f"python {platform.python_version()} | redis-py {version('redis')} | "
          f"redis-server {redis_server_version()} | cachetools {version('cachetools')}")
    print(f"{s.repeats} repeat(s) x {s.chunks} chunk(s) per side of ~{s.chunk_seconds * 1000:g} ms"
          + (" [--quick: smoke run, numbers are not meaningful]" if s.quick else ""))
    print("ratio = median over repeats of (highload ops/s / reference ops/s), sides interleaved\n")
    rows: list[RatioRow] = []
    stampede_rows: list[tuple[str, ...]] = []
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        rows = [RatioRow(HIT, "highload CacheAside(RedisBackend).get(key)", "redis-py GET", skipped=reason),
                RatioRow(NEAR, "highload NearCache.get(key), local hit", "cachetools TTLCache[key]", skipped=reason)]
    else:
        with redis_server() as url:
            rows += hit_rows(url, s)
            rows += near_rows(url, s)
            progress("stampede")
            for protected in (False, True):
                runs = [stampede(url, protected) for _ in range(1 if s.quick else 3)]
                loads = [calls for calls, _ in runs]
                stampede_rows.append(("single_flight=True" if protected else "no protection",
                                      f"{statistics.median(loads):.0f}", f"{min(loads)}-{max(loads)}",
                                      f"{min(got for _, got in runs)} of 100",
                                      ("PASS" if set(loads) == {1} else "MISS") if protected else "info"))
    print(ratio_table(rows, "ops/s"))
    print()
    if stampede_rows:
        print(f"[{MISSES}]")
        print(table(("protection", "loader calls", "range", "callers served", "target: exactly 1"),
                    stampede_rows, numeric=frozenset({1, 2, 3})))
        print()
    through = likes(lambda store, clock: WriteThroughCache(store))
    back = likes(lambda store, clock: WriteBackCache(store, flush_interval=1.0, clock=clock))
    print(f"[{LIKES}]")
    print(table(("policy", "database writes", "per like"),
                [("write-through", f"{through:,}", f"{through / 10_000:.2f}"),
                 ("write-back, flush every 1 s", f"{back:,}", f"{back / 10_000:.3f}"),
                 ("saved by write-back", f"{through / back:.1f}x fewer", "")],
                numeric=frozenset({1, 2})))
    print()
    hit = next((r for r in rows if r.section == HIT and r.paired), None)
    if hit is not None:
        print(f"one GET round trip took ~{1e6 / hit.paired.ref:.0f} us in this run. The hit-path ratio "
              "depends on it: the cache's own work (~2-4 us) weighs more against a fast round trip, "
              "so compare runs with similar round trips (see bench/README.md)\n")
    statuses = [r.status for r in rows] + [r[-1] for r in stampede_rows]
    print(", ".join(f"{statuses.count(k)} {k}" for k in ("PASS", "MISS", "SKIP", "info")))
    return 0
