"""Cache strategies: cache-aside / read-through, write-through and write-back, in memory or on
Redis, sync and asyncio, with stampede protection, a near-cache and metrics.

Exercise contracts (memory backend, injected clock)::

    cache = CacheAside(loader, ttl=60, max_entries=1000, clock=clock)
    cache.get(key); cache.invalidate(key); cache.stats        # {"hits", "misses", "loads", ...}
    wt = WriteThroughCache(store); wt.write(k, v); wt.read(k)
    wb = WriteBackCache(store, flush_interval=5, clock=clock); wb.write(k, v); wb.flush()

Production use::

    cache = CacheAside(db.users.load, ttl=300, backend=RedisBackend(client),
                       jitter=0.1, negative_ttl=30, single_flight=True, xfetch_beta=1.0)
    near = NearCache(db.users.load, ttl=300, backend=RedisBackend(client), max_entries=10_000)
    near.drain()                                               # apply invalidations: a sync point

Stampede protection, each selectable: ``single_flight`` (one load per key: threads share
it, processes wait on a Redis ``SET NX PX`` lock released by compare-and-delete),
``xfetch_beta`` (probabilistic early refresh) and ``stale_while_revalidate`` (serve the
old value while one background refresh runs). A Redis outage fails reads open to the
loader (see :mod:`highload.cache.redis_backend`).
"""

from .aside import CacheAside
from .async_aside import AsyncCacheAside
from .async_near import AsyncNearCache
from .buffer import AsyncRedisBuffer, MemoryBuffer, RedisBuffer
from .codec import Codec, JsonCodec, PickleCodec
from .config import CacheConfig, xfetch_due
from .entry import Entry
from .events import COUNTERS, KINDS, Event, EventPublisher
from .flight import AsyncSingleFlight, SingleFlight
from .memory import AsyncMemoryBackend, MemoryBackend
from .metrics import CacheMetrics
from .near import NearCache
from .redis_backend import OUTAGE_ERRORS, AsyncRedisBackend, RedisBackend
from .stores import AsyncStore
from .through import AsyncWriteThroughCache, WriteThroughCache
from .writeback import AsyncWriteBackCache, WriteBackCache

__all__ = [
    "CacheAside", "AsyncCacheAside", "WriteThroughCache", "AsyncWriteThroughCache",
    "WriteBackCache", "AsyncWriteBackCache", "NearCache", "AsyncNearCache",
    "CacheConfig", "Entry", "xfetch_due", "CacheMetrics", "Event", "EventPublisher", "KINDS", "COUNTERS",
    "MemoryBackend", "AsyncMemoryBackend", "RedisBackend", "AsyncRedisBackend", "OUTAGE_ERRORS",
    "MemoryBuffer", "RedisBuffer", "AsyncRedisBuffer", "AsyncStore",
    "SingleFlight", "AsyncSingleFlight", "Codec", "JsonCodec", "PickleCodec",
]

#: The teaching database moved to highload.lab.database. These old names still import from
#: here, without a warning, until the next release: resolved on first use (PEP 562), so
#: importing highload.cache never imports the lab.
_MOVED_TO_LAB = frozenset({"Database", "Table", "SCHEMA"})


def __getattr__(name: str):
    if name in _MOVED_TO_LAB:
        from . import db

        return getattr(db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
