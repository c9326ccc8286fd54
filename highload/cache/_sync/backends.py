# Generated from highload/cache/_async/backends.py by `python scripts/unasync.py`: edit that file and regenerate, not this one.
"""What a cache needs from its backend, and a write-back cache from its buffer: typed Protocols
that the memory and Redis ones satisfy, and how a cache picks one of its own flavour."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Protocol, runtime_checkable

from .._flavour import check_flavour
from ..buffer import MemoryBuffer
from ..entry import Entry
from ..memory import MemoryBackend

__all__ = ["CacheBackend", "WriteBuffer", "pick_backend", "pick_buffer"]


@runtime_checkable
class CacheBackend(Protocol):
    """Where a read-through or write-through cache keeps its entries (in memory, on Redis).

    ``lookup`` returns the entry and the token a later ``fill`` needs; ``fill`` stores a
    loaded entry unless the key was written since that token; ``put`` and ``delete`` are
    writes (they cancel fills in flight). ``acquire``/``release``/``wait_unlocked`` are the
    cross-process single-flight lock (a no-op where ``distributed`` is False). Errors in
    ``outage_errors`` mean "unreachable": reads fail open, writes raise.
    """

    distributed: bool
    outage_errors: tuple[type[BaseException], ...]
    default_clock: Callable[[], float]

    def name_of(self, key: Hashable) -> Hashable: ...

    def lookup(self, key: Hashable) -> tuple[Entry | None, Any]: ...

    def token(self, key: Hashable) -> Any: ...

    def peek(self, key: Hashable) -> Entry | None: ...

    def fill(self, key: Hashable, entry: Entry, token: Any) -> bool: ...

    def put(self, key: Hashable, entry: Entry) -> None: ...

    def delete(self, key: Hashable) -> bool: ...

    def clear(self) -> None: ...

    def acquire(self, key: Hashable, owner: str, ttl: float) -> bool: ...

    def release(self, key: Hashable, owner: str) -> None: ...

    def wait_unlocked(self, key: Hashable, timeout: float) -> bool: ...


@runtime_checkable
class WriteBuffer(Protocol):
    """Where a write-back cache keeps values and dirty marks until a flush (in memory, on Redis).

    ``dirty`` is a snapshot of ``(key, value, version)``; ``clean`` unmarks the keys whose
    version is still the flushed one, so a write during a flush stays dirty.
    """

    outage_errors: tuple[type[BaseException], ...]

    def write(self, key: Hashable, value: Any) -> int: ...

    def read(self, key: Hashable) -> tuple[bool, Any]: ...

    def dirty(self) -> list[tuple[Hashable, Any, Any]]: ...

    def clean(self, flushed: list[tuple[Hashable, Any, Any]]) -> int: ...

    def dirty_count(self) -> int: ...

    def discard(self, key: Hashable) -> None: ...


def pick_backend(backend: Any, max_entries: int | None, cache: object) -> CacheBackend:
    """``backend`` checked for ``cache``'s flavour; by default a memory backend of ``max_entries``."""
    if backend is None:
        return MemoryBackend(max_entries)
    if max_entries is not None:
        raise TypeError(
            "max_entries sizes the default memory backend; with backend= pass MemoryBackend(max_entries) "
            "(on Redis, bound memory with maxmemory and maxmemory-policy allkeys-lru)"
        )
    backend = MemoryBackend._view(backend)  # a memory backend of the other flavour: its entries, shared
    check_flavour(backend, "lookup", "backend", cache, asynchronous=False)
    if not isinstance(backend, CacheBackend):
        raise TypeError(f"backend must be a MemoryBackend or RedisBackend (a CacheBackend), got {backend!r}")
    return backend


def pick_buffer(buffer: Any, cache: object) -> WriteBuffer:
    """``buffer`` checked for ``cache``'s flavour; by default a memory buffer."""
    if buffer is None:
        return MemoryBuffer()
    buffer = MemoryBuffer._view(buffer)  # a memory buffer of the other flavour: its state, shared
    check_flavour(buffer, "write", "buffer", cache, asynchronous=False)
    if not isinstance(buffer, WriteBuffer):
        raise TypeError(f"buffer must be a MemoryBuffer or RedisBuffer, got {buffer!r}")
    return buffer
