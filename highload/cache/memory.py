"""In-process cache storage: an LRU dict of entries, with fills that a concurrent write cancels.

The classic cache-aside race: a reader misses, loads the old row, a writer updates the
row and invalidates the key, then the reader stores the old row, and it stays stale
until its ttl. Here every write or invalidation is numbered, each lookup returns the
number it saw (its token), and :meth:`MemoryBackend.fill` refuses to store a load that
started before a later write of the same key. The Redis backend does the same with a
generation key and a Lua script.

Nothing here waits, so this is a sans-IO core with two thin faces rather than generated
code: :class:`MemoryBackend` is the core's methods as they are, and
:class:`AsyncMemoryBackend` the same methods as coroutines (same names, same signatures).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping

from highload import _validate

from ._flavour import coroutine_face, same_state
from .entry import Entry

__all__ = ["MemoryBackend", "AsyncMemoryBackend"]


class _MemoryEntries:
    """The sans-IO core of both faces: every rule and all state, in plain methods."""

    distributed = False
    outage_errors: tuple[type[BaseException], ...] = ()
    default_clock = staticmethod(time.monotonic)

    def __init__(self, max_entries: int | None = None, *, sweep_every: int = 10_000, write_log: int = 10_000) -> None:
        if max_entries is not None:
            max_entries = _validate.integer("max_entries", max_entries, minimum=1)
        self.max_entries = max_entries
        self.sweep_every = _validate.integer("sweep_every", sweep_every, minimum=1)
        self.write_log = _validate.integer("write_log", write_log, minimum=1)
        self.evictions = 0
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._written: OrderedDict[Hashable, int] = OrderedDict()
        self._seq = 0  # numbers writes and invalidations
        self._floor = 0  # the newest write number forgotten from _written
        self._stores = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_entries={self.max_entries!r}, entries={len(self._entries)})"

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    @property
    def entries(self) -> Mapping[Hashable, Entry]:
        """The entries by key, least recently used first: for a reader on a hot path that takes
        no lock (a near-cache hit). Read it; change entries only through the methods."""
        return self._entries

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._entries)

    def name_of(self, key: Hashable) -> Hashable:
        return key

    @classmethod
    def _view(cls, backend):
        """This face of ``backend``'s state if it is the other face, else ``backend`` itself."""
        return same_state(backend, _MemoryEntries, cls)

    # -- reads -----------------------------------------------------------------------------------
    def lookup(self, key: Hashable) -> tuple[Entry | None, int]:
        """The entry (marked most recently used) and the token a later :meth:`fill` needs."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry, self._seq

    def token(self, key: Hashable) -> int:
        """The token a :meth:`fill` of ``key`` needs, read now (lookup returns it too)."""
        return self._seq

    def peek(self, key: Hashable) -> Entry | None:
        """The entry, without touching its recency."""
        return self._entries.get(key)

    # -- writes ----------------------------------------------------------------------------------
    def fill(self, key: Hashable, entry: Entry, token: int) -> bool:
        """Store a loaded entry unless ``key`` was written or invalidated since ``token``."""
        with self._lock:
            written = self._written.get(key)
            if (written is not None and written > token) or (written is None and token < self._floor):
                return False
            self._store(key, entry)
            return True

    def put(self, key: Hashable, entry: Entry) -> None:
        """Store a written entry; loads of ``key`` already running will not overwrite it."""
        with self._lock:
            self._note_write(key)
            self._store(key, entry)

    def delete(self, key: Hashable) -> bool:
        """Drop ``key``; loads already running will not put it back. True if it was cached."""
        with self._lock:
            self._note_write(key)
            return self._entries.pop(key, None) is not None

    def clear(self) -> None:
        """Drop every entry; loads already running will not put theirs back."""
        with self._lock:
            self._seq += 1
            self._floor = self._seq
            self._written.clear()
            self._entries.clear()

    # -- locks: one process needs none beyond single-flight ----------------------------------------
    def acquire(self, key: Hashable, owner: str, ttl: float) -> bool:
        return True

    def release(self, key: Hashable, owner: str) -> None:
        return None

    def wait_unlocked(self, key: Hashable, timeout: float) -> bool:
        return True

    # -- internals -------------------------------------------------------------------------------
    def _note_write(self, key: Hashable) -> None:
        self._seq += 1
        self._written[key] = self._seq
        self._written.move_to_end(key)
        if len(self._written) > self.write_log:
            _, forgotten = self._written.popitem(last=False)
            self._floor = max(self._floor, forgotten)

    def _store(self, key: Hashable, entry: Entry) -> None:
        self._stores += 1
        if self._stores % self.sweep_every == 0:
            now = entry.created
            for k in [k for k, e in self._entries.items() if not e.is_servable(now)]:
                del self._entries[k]
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if self.max_entries is not None:
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
                self.evictions += 1


class MemoryBackend(_MemoryEntries):
    """Entries in a dict inside this process, least recently used evicted first.

    ``max_entries`` bounds the number of entries (None: unbounded). Every
    ``sweep_every`` stores, entries past their ttl and stale window are dropped, so keys
    that are never read again cannot grow memory forever. The last ``write_log`` writes
    are remembered to cancel fills; a fill older than everything remembered is refused
    (safe: the value is still returned, just not cached).
    """


@coroutine_face("lookup", "token", "peek", "fill", "put", "delete", "clear", "acquire", "release", "wait_unlocked")
class AsyncMemoryBackend(_MemoryEntries):
    """A :class:`MemoryBackend` for the asyncio caches: the same entries and rules, behind
    coroutine methods that never wait (no I/O, no threads)."""
