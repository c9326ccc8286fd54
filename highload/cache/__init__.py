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
loader (see :mod:`highload.cache.redis_layout`).

Sync and asyncio are one source: the asyncio classes are written once in ``_async/`` and
``_sync/`` is generated from them (``python scripts/unasync.py``); what really differs
between threads and tasks is in ``_flavour.py``. The memory backend and buffer, which never
wait, are sans-IO cores with a sync and a coroutine face (``memory.py``, ``buffer.py``).
"""

from ._async.aside import AsyncCacheAside
from ._async.backends import AsyncCacheBackend, AsyncWriteBuffer
from ._async.near import AsyncNearCache
from ._async.redis_backend import AsyncRedisBackend
from ._async.redis_buffer import AsyncRedisBuffer
from ._async.through import AsyncWriteThroughCache
from ._async.writeback import AsyncWriteBackCache
from ._sync.aside import CacheAside
from ._sync.backends import CacheBackend, WriteBuffer
from ._sync.near import NearCache
from ._sync.redis_backend import RedisBackend
from ._sync.redis_buffer import RedisBuffer
from ._sync.through import WriteThroughCache
from ._sync.writeback import WriteBackCache
from .buffer import AsyncMemoryBuffer, MemoryBuffer
from .codec import Codec, JsonCodec, PickleCodec
from .config import CacheConfig, xfetch_due
from .entry import Entry
from .events import COUNTERS, KINDS, Event, EventPublisher
from .flight import AsyncSingleFlight, SingleFlight
from .memory import AsyncMemoryBackend, MemoryBackend
from .metrics import CacheMetrics
from .redis_layout import OUTAGE_ERRORS
from .stores import AsyncStore

__all__ = [
    "CacheAside", "AsyncCacheAside", "WriteThroughCache", "AsyncWriteThroughCache",
    "WriteBackCache", "AsyncWriteBackCache", "NearCache", "AsyncNearCache",
    "CacheConfig", "Entry", "xfetch_due", "CacheMetrics", "Event", "EventPublisher", "KINDS", "COUNTERS",
    "MemoryBackend", "AsyncMemoryBackend", "RedisBackend", "AsyncRedisBackend", "OUTAGE_ERRORS",
    "MemoryBuffer", "AsyncMemoryBuffer", "RedisBuffer", "AsyncRedisBuffer", "AsyncStore",
    "CacheBackend", "AsyncCacheBackend", "WriteBuffer", "AsyncWriteBuffer",
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
