"""Where a write-back cache keeps values and dirty marks until they are flushed to the store.

* :class:`MemoryBuffer`: in this process. Fastest; a crash loses every unflushed write.
* :class:`RedisBuffer` / :class:`AsyncRedisBuffer`: a hash of values and a set of dirty
  keys in Redis. A crash of the app loses nothing that Redis kept: any process that
  opens a write-back cache on the same prefix flushes those keys (durability is then
  Redis's own: AOF or replicas). Keep both records in one hash slot on Redis Cluster by
  putting a hash tag in the prefix, e.g. ``"wb:{balances}:"``.

Each dirty key carries a version (a counter in memory, the encoded value on Redis), and
a flush unmarks a key only if its version is still the one it wrote, so a write that
lands during a flush is not lost: it stays dirty for the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from . import scripts
from .codec import Codec, check_codec
from .redis_backend import OUTAGE_ERRORS, check_client, key_name

__all__ = ["MemoryBuffer", "RedisBuffer", "AsyncRedisBuffer"]

_MISSING: Any = object()


class MemoryBuffer:
    """Values and dirty marks in dicts inside this process."""

    outage_errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._dirty: dict[Hashable, int] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryBuffer(values={len(self._values)}, dirty={len(self._dirty)})"

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
        return len(self._dirty)

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` entirely (buffered value and dirty mark)."""
        with self._lock:
            self._values.pop(key, None)
            self._dirty.pop(key, None)


class _RedisLayout:
    _asynchronous = False
    outage_errors = OUTAGE_ERRORS

    def __init__(self, client=None, *, prefix: str = "hl:writeback:", codec: Codec | None = None) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, got {prefix!r}")
        self.client = check_client(client, self._asynchronous)
        self.prefix = prefix
        self.codec = check_codec(codec)
        self.keys = [prefix + "data", prefix + "dirty"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"

    def _pairs(self, names, raws) -> list[tuple[str, Any, bytes]]:
        names = [n.decode() if isinstance(n, bytes) else n for n in names]
        return [(n, self.codec.loads(raw), raw) for n, raw in sorted(zip(names, raws, strict=True)) if raw is not None]

    @staticmethod
    def _clean_args(flushed) -> list:
        args: list = []
        for key, _, version in flushed:
            args += [key, version]
        return args


class RedisBuffer(_RedisLayout):
    """Values in the hash ``{prefix}data``, dirty keys in the set ``{prefix}dirty``."""

    def write(self, key: Hashable, value: Any) -> int:
        return int(scripts.run(self.client, "buffer_write", self.keys, [key_name(key), self.codec.dumps(value)]))

    def read(self, key: Hashable) -> tuple[bool, Any]:
        raw = self.client.hget(self.keys[0], key_name(key))
        return (False, None) if raw is None else (True, self.codec.loads(raw))

    def dirty(self) -> list[tuple[str, Any, bytes]]:
        names = list(self.client.smembers(self.keys[1]))
        return self._pairs(names, self.client.hmget(self.keys[0], names)) if names else []

    def clean(self, flushed) -> int:
        if not flushed:
            return 0
        return int(scripts.run(self.client, "buffer_clean", self.keys, self._clean_args(flushed)))

    def dirty_count(self) -> int:
        return int(self.client.scard(self.keys[1]))

    def discard(self, key: Hashable) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.keys[0], key_name(key))
        pipe.srem(self.keys[1], key_name(key))
        pipe.execute()


class AsyncRedisBuffer(_RedisLayout):
    """The asyncio twin of :class:`RedisBuffer`."""

    _asynchronous = True

    async def write(self, key: Hashable, value: Any) -> int:
        return int(await scripts.arun(self.client, "buffer_write", self.keys, [key_name(key), self.codec.dumps(value)]))

    async def read(self, key: Hashable) -> tuple[bool, Any]:
        raw = await self.client.hget(self.keys[0], key_name(key))
        return (False, None) if raw is None else (True, self.codec.loads(raw))

    async def dirty(self) -> list[tuple[str, Any, bytes]]:
        names = list(await self.client.smembers(self.keys[1]))
        return self._pairs(names, await self.client.hmget(self.keys[0], names)) if names else []

    async def clean(self, flushed) -> int:
        if not flushed:
            return 0
        return int(await scripts.arun(self.client, "buffer_clean", self.keys, self._clean_args(flushed)))

    async def dirty_count(self) -> int:
        return int(await self.client.scard(self.keys[1]))

    async def discard(self, key: Hashable) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.keys[0], key_name(key))
        pipe.srem(self.keys[1], key_name(key))
        await pipe.execute()
