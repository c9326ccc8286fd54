"""Where a write-back cache keeps values and dirty marks until they are flushed to the store.

* :class:`MemoryBuffer` / :class:`AsyncMemoryBuffer`: in this process. Fastest; a crash
  loses every unflushed write.
* :class:`~highload.cache.RedisBuffer` / :class:`~highload.cache.AsyncRedisBuffer`: a hash
  of values and a set of dirty keys in Redis (``_async/redis_buffer.py``). A crash of the
  app loses nothing that Redis kept: any process that opens a write-back cache on the same
  prefix flushes those keys (durability is then Redis's own: AOF or replicas).

Each dirty key carries a version (a counter in memory, the encoded value on Redis), and
a flush unmarks a key only if its version is still the one it wrote, so a write that
lands during a flush is not lost: it stays dirty for the next one.

The memory buffer never waits, so it is a sans-IO core with two thin faces (as
:mod:`highload.cache.memory` is): :class:`AsyncMemoryBuffer` is :class:`MemoryBuffer`'s
methods as coroutines, with the same names and signatures.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from ._flavour import coroutine_face, same_state

__all__ = ["MemoryBuffer", "AsyncMemoryBuffer"]

_MISSING: Any = object()


class _BufferedWrites:
    """The sans-IO core of both faces: values, dirty marks and versions, in plain methods."""

    outage_errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._dirty: dict[Hashable, int] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(values={len(self._values)}, dirty={len(self._dirty)})"

    @classmethod
    def _view(cls, buffer):
        """This face of ``buffer``'s state if it is the other face, else ``buffer`` itself."""
        return same_state(buffer, _BufferedWrites, cls)

    def write(self, key: Hashable, value: Any) -> int:
        """Buffer ``value`` and mark ``key`` dirty; returns how many keys are dirty."""
        with self._lock:
            self._values[key] = value
            self._seq += 1
            self._dirty[key] = self._seq
            return len(self._dirty)

    def read(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` if buffered, else ``(False, None)``."""
        value = self._values.get(key, _MISSING)
        return (False, None) if value is _MISSING else (True, value)

    def dirty(self) -> list[tuple[Hashable, Any, int]]:
        """A snapshot of ``(key, value, version)`` for every dirty key, in write order."""
        with self._lock:
            return [(k, self._values[k], v) for k, v in sorted(self._dirty.items(), key=lambda kv: kv[1])]

    def clean(self, flushed: list[tuple[Hashable, Any, int]]) -> int:
        """Unmark keys whose version is still the flushed one; returns how many."""
        with self._lock:
            cleaned = 0
            for key, _, version in flushed:
                if self._dirty.get(key) == version:
                    del self._dirty[key]
                    cleaned += 1
            return cleaned

    def dirty_count(self) -> int:
        """How many keys are dirty."""
        return len(self._dirty)

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` entirely (buffered value and dirty mark)."""
        with self._lock:
            self._values.pop(key, None)
            self._dirty.pop(key, None)


class MemoryBuffer(_BufferedWrites):
    """Values and dirty marks in dicts inside this process."""


@coroutine_face("write", "read", "dirty", "clean", "dirty_count", "discard")
class AsyncMemoryBuffer(_BufferedWrites):
    """A :class:`MemoryBuffer` for :class:`~highload.cache.AsyncWriteBackCache`: the same state
    behind coroutine methods that never wait."""
