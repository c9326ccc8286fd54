"""A cache's counters and load latency as one snapshot, for dashboards and lessons."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from highload.outages import is_outage

__all__ = ["CacheMetrics", "Observed"]


@dataclass(frozen=True)
class CacheMetrics:
    """Counters since the cache was created, plus load-latency percentiles (clock seconds)."""

    name: str
    hits: int
    misses: int
    loads: int
    load_errors: int
    stale_hits: int
    early_refreshes: int
    coalesced: int
    lock_waits: int
    invalidations: int
    writes: int
    flushes: int
    backend_errors: int
    load_p50: float | None = None
    load_p95: float | None = None
    load_p99: float | None = None

    @property
    def hit_ratio(self) -> float:
        """Reads served from the cache (fresh or stale) per read; 0.0 before any read."""
        served = self.hits + self.stale_hits
        reads = served + self.misses + self.early_refreshes
        return served / reads if reads else 0.0

    @classmethod
    def from_recorder(cls, recorder) -> CacheMetrics:
        p50, p95, p99 = recorder.percentiles(0.5, 0.95, 0.99)
        return cls(recorder.name, **recorder.counts(), load_p50=p50, load_p95=p95, load_p99=p99)


class Observed:
    """What every cache shows of its ``self._rec`` (a :class:`~highload.cache.events.Recorder`):
    ``counters``, ``stats`` (the same, unless a cache narrows it), ``metrics()`` and ``subscribe()``.

    It also holds the fail-closed half of the outage policy: see :meth:`_outage_raised`.
    """

    @property
    def counters(self) -> dict[str, int]:
        """Every counter in :data:`~highload.cache.events.COUNTERS`: hits, writes, flushes, ..."""
        return self._rec.counts()

    @property
    def stats(self) -> dict[str, int]:
        return self.counters

    def metrics(self) -> CacheMetrics:
        """Counters plus load-latency percentiles, as one snapshot."""
        return CacheMetrics.from_recorder(self._rec)

    def subscribe(self, listener: Callable, *kinds: str) -> Callable[[], None]:
        """Call ``listener(event)`` for every event (or only ``kinds``); returns an unsubscribe."""
        return self._rec.subscribe(listener, *kinds)

    @contextmanager
    def _outage_raised(self, key, op: str) -> Iterator[None]:
        """Let a backend outage (``self._outage``) during ``op`` propagate, after recording it as a
        ``backend_error`` event. Writes and invalidations fail closed: a caller told "done" while
        the old value is still cached would serve it for a whole TTL."""
        try:
            yield
        except self._outage as exc:
            if is_outage(exc):
                self._rec.record("backend_error", key, op=op)
            raise
