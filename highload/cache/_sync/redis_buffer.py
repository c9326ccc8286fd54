# Generated from highload/cache/_async/redis_buffer.py by `python scripts/unasync.py`: edit that file and regenerate, not this one.
"""The Redis write-back buffer's round trips (layout and scripts: :mod:`highload.cache.redis_layout`).

Values live in the hash ``{prefix}data``, dirty keys in the set ``{prefix}dirty``. Keep both
in one hash slot on Redis Cluster by putting a hash tag in the prefix, e.g. ``"wb:{balances}:"``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ..codec import Codec
from ..redis_layout import BufferLayout, key_name

__all__ = ["RedisBuffer"]


class RedisBuffer(BufferLayout):
    """A write-back buffer on Redis: a crashed process's unflushed writes survive for the next
    one to flush. ``client`` defaults to :func:`highload.redis_client.connect` (``connect_async()`` on
    asyncio)."""

    def __init__(self, client=None, *, prefix: str = "hl:writeback:", codec: Codec | None = None) -> None:
        self._configure(client, prefix, codec, asynchronous=False)

    def write(self, key: Hashable, value: Any) -> int:
        """Buffer ``value`` and mark ``key`` dirty; returns how many keys are dirty."""
        return int(self._write_script(keys=self.keys, args=[key_name(key), self.codec.dumps(value)]))

    def read(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` if buffered, else ``(False, None)``."""
        raw = self.client.hget(self.keys[0], key_name(key))
        return (False, None) if raw is None else (True, self.codec.loads(raw))

    def dirty(self) -> list[tuple[str, Any, bytes]]:
        """A snapshot of ``(key, value, version)`` for every dirty key; the version is the encoded value."""
        names = list(self.client.smembers(self.keys[1]))
        return self._pairs(names, self.client.hmget(self.keys[0], names)) if names else []

    def clean(self, flushed) -> int:
        """Unmark keys whose buffered value is still the flushed one; returns how many."""
        if not flushed:
            return 0
        return int(self._clean_script(keys=self.keys, args=self._clean_args(flushed)))

    def dirty_count(self) -> int:
        """How many keys are dirty."""
        return int(self.client.scard(self.keys[1]))

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` entirely (buffered value and dirty mark)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.keys[0], key_name(key))
        pipe.srem(self.keys[1], key_name(key))
        pipe.execute()
