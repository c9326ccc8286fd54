"""What the sync and asyncio read-through caches share without any I/O: validation, the read
decision and the entries they make. Their I/O is written once, in ``_async/aside.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from highload import _validate

from .config import CacheConfig, make_rng, xfetch_due
from .entry import Entry
from .events import Recorder
from .metrics import Observed

# What a read does with the entry it found.
HIT, STALE, EARLY, MISS = "hit", "stale", "early", "miss"


check_clock = _validate.clock


_NOT_IN_NAMES = frozenset("|{}*?[]\\") | frozenset(chr(c) for c in range(33))


def check_name(name) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    return name


def check_namespace(name) -> str:
    """A cache's name on a shared backend is its namespace there, so it cannot hold ``|`` (the
    delimiter after it), ``{}`` (Redis Cluster hash tags), glob characters or whitespace."""
    check_name(name)
    bad = sorted(set(name) & _NOT_IN_NAMES)
    if bad or len(name) > 128:
        raise ValueError(f"name must be 1-128 characters without whitespace or any of | {{ }} * ? [ ] \\, "
                         f"got {name!r}")
    return name


def scoped(store, name, default: str):
    """``(store, name)`` for a cache. A shared store (a Redis backend or buffer) is used through
    its view under the cache's own ``name`` (``<prefix><name>|``): loaders have no stable
    identity, so two caches on one Redis are told apart only by a name their owner chose, and
    ``name=`` is then required. The memory stores belong to one process and keep ``default``."""
    if getattr(store, "scoped", None) is None:
        return store, check_name(default if name is None else name)
    if name is None:
        raise TypeError(f"name= is required for a cache on a shared backend ({store!r}): it is the "
                        f"cache's namespace there, e.g. name='products' (two caches with one name "
                        f"share entries)")
    name = check_namespace(name)
    return store.scoped(name), name


def make_config(ttl, config: CacheConfig | None, options: dict) -> CacheConfig:
    if config is None:
        if ttl is None:
            raise TypeError("ttl is required (seconds an entry stays fresh), or pass config=CacheConfig(...)")
        return CacheConfig(ttl, **options)
    if not isinstance(config, CacheConfig):
        raise TypeError(f"config must be a CacheConfig, got {config!r}")
    if ttl is not None or options:
        raise TypeError("pass settings either in config= or as ttl and keywords, not both")
    return config


class ReadThroughBase(Observed):
    """State and decisions common to :class:`CacheAside` and :class:`AsyncCacheAside`."""

    def _setup(self, loader, ttl, config, options, backend, clock, name, rng) -> None:
        """Validate and keep the settings; ``backend`` comes already picked for the flavour."""
        if loader is not None and not callable(loader):
            raise TypeError(f"loader must be callable with a key, got {loader!r}")
        self.config = make_config(ttl, config, options)
        self.loader = loader
        self.backend, self.name = scoped(backend, name, "cache")
        self._clock = check_clock(backend.default_clock if clock is None else clock)
        self._rng = make_rng(rng)
        self._outage = backend.outage_errors
        self._rec = Recorder(self.name, self._clock)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, ttl={self.config.ttl!r}, backend={self.backend!r})"

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @property
    def stats(self) -> dict[str, int]:
        """The exercise's counters: exactly ``hits``, ``misses`` and ``loads``."""
        counts = self._rec.counts()
        return {"hits": counts["hits"], "misses": counts["misses"], "loads": counts["loads"]}

    def _loader_for(self, loader):
        loader = self.loader if loader is None else loader
        if loader is None:
            raise TypeError("no loader: pass loader= to the cache or to get_or_load(key, loader)")
        if not callable(loader):
            raise TypeError(f"loader must be callable with a key, got {loader!r}")
        return loader

    def _decide(self, entry: Entry | None, now: float) -> str:
        if entry is None:
            return MISS
        if entry.is_fresh(now):
            if self.config.xfetch_beta and xfetch_due(entry, now, self.config.xfetch_beta, self._rng):
                return EARLY
            return HIT
        if entry.is_servable(now):
            return STALE
        return MISS

    def _entry(self, value: Any, started: float, finished: float) -> Entry | None:
        return self.config.entry(value, started, finished, self._rng)

    def _written(self, value: Any) -> Entry | None:
        now = self._clock()
        return self.config.entry(value, now, now, self._rng)

    def _require_store(self):
        """The store's access object (see :mod:`highload.cache.stores`)."""
        if self._store is None:
            raise TypeError("no store: pass store= (a MutableMapping, e.g. Database().users) to write through it")
        return self._store
