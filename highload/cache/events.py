"""What a cache reports: counters for every kind of event, load latencies, and published events.

Listeners use the same :class:`~highload.resilience.events.EventPublisher` as the
resilience primitives, so one exporter serves the whole package::

    cache.subscribe(lambda e: print(e.kind, e.detail["key"]), "miss", "load")
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from highload.resilience.events import Event, EventPublisher
from highload.resilience.metrics import LatencyReservoir

__all__ = ["KINDS", "COUNTERS", "Event", "EventPublisher", "Recorder"]

#: event kind -> the counter it increments
COUNTERS = {
    "hit": "hits",                      # a fresh entry was served
    "miss": "misses",                   # no fresh entry: the caller loaded or waited for a load
    "load": "loads",                    # the loader ran and returned (duration = load latency)
    "load_error": "load_errors",        # the loader raised
    "stale": "stale_hits",              # an expired entry was served while a refresh runs
    "early_refresh": "early_refreshes", # XFetch refreshed a fresh entry ahead of expiry
    "coalesced": "coalesced",           # a caller waited for another thread's (task's) load
    "lock_wait": "lock_waits",          # a caller waited for another process's load
    "invalidate": "invalidations",      # an entry was dropped (explicitly or by a write)
    "write": "writes",                  # a write went through the cache
    "flush": "flushes",                 # write-back flushed dirty keys (detail: count)
    "backend_error": "backend_errors",  # Redis was unreachable; the cache failed open
}
KINDS = tuple(COUNTERS)


class Recorder:
    """Counts every event, keeps recent load latencies, and publishes events listeners want."""

    def __init__(self, name: str, clock: Callable[[], float], latency_samples: int = 1024) -> None:
        self.name = name
        self.events = EventPublisher()
        self._clock = clock
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS.values(), 0)
        self.latency = LatencyReservoir(latency_samples)

    def record(self, kind: str, key=None, *, duration: float | None = None, **detail) -> None:
        counter = COUNTERS[kind]
        with self._lock:
            self._counts[counter] += 1
            if duration is not None and kind == "load":
                self.latency.add(duration)
        if self.events.wants(kind):
            self.events.publish(Event(self.name, kind, self._clock(), duration, {"key": key, **detail}))

    def record_hit(self, key=None) -> None:
        """:meth:`record` of a hit, for the hot path: the counter is bumped without the lock (under
        heavy thread contention an increment can be lost, never a value), and an event is built
        only when someone listens."""
        self._counts["hits"] += 1
        if self.events.wants("hit"):
            self.events.publish(Event(self.name, "hit", self._clock(), None, {"key": key}))

    def add(self, kind: str, n: int) -> None:
        """Count ``n`` events of ``kind`` at once (a hot path's tally), publishing nothing."""
        with self._lock:
            self._counts[COUNTERS[kind]] += n

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def percentiles(self, *qs: float) -> list[float | None]:
        with self._lock:
            return [self.latency.percentile(q) for q in qs]

    def subscribe(self, listener: Callable[[Event], None], *kinds: str) -> Callable[[], None]:
        unknown = set(kinds) - set(COUNTERS)
        if unknown:
            raise ValueError(f"kinds must be among {KINDS}, got {sorted(unknown)}")
        if not callable(listener):
            raise TypeError(f"listener must be callable with one Event, got {listener!r}")
        return self.events.subscribe(listener, *kinds)
