# Generated from highload/cache/_async/redis_backend.py by `python scripts/unasync.py`: edit that file and regenerate, not this one.
"""The Redis backend's round trips (the key layout, scripts and failure policy are in
:mod:`highload.cache.redis_layout`)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Hashable

from ..codec import Codec
from ..entry import LATER, Entry
from ..redis_layout import OUTAGE_ERRORS, BackendLayout, glob_literal, milliseconds

__all__ = ["RedisBackend"]


class RedisBackend(BackendLayout):
    """Cache entries on Redis, shared by every process; ``client`` defaults to
    :func:`highload.redis_client.connect` (``connect_async()`` on asyncio).

    ``prefix`` namespaces every key (see :mod:`highload.cache.redis_layout` for the layout);
    ``codec`` encodes values (JSON by default); ``generation_ttl`` is how long a key's write
    generation outlives its entry; ``notify=False`` stops publishing invalidations for
    near-caches.
    """

    def __init__(self, client=None, *, prefix: str = "hl:cache:", codec: Codec | None = None,
                 generation_ttl: float = 3600.0, notify: bool = True) -> None:
        self._configure(client, prefix, codec, generation_ttl, notify, asynchronous=False)

    def server_time(self) -> float:
        """Redis's own clock (``TIME``) in seconds: pass ``clock=backend.server_time`` to a sync
        cache when app hosts' clocks may disagree. The price: a round trip per clock reading (three
        per miss), and tests can no longer drive time. (An asyncio cache's clock must be a plain
        callable, so there this only reads the time.)"""
        seconds, micros = self.client.time()
        return seconds + micros / 1_000_000

    def lookup(self, key: Hashable) -> tuple[Entry | None, bytes | object]:
        """The entry and its fill token: :data:`LATER` when an entry was found (see there)."""
        base = self.entry_key(key)
        entry = self._decode(self.client.get(base))
        return (entry, LATER) if entry is not None else (None, self.client.get(base + ":gen") or b"")

    def token(self, key: Hashable) -> bytes:
        """The fill token of ``key`` now: read it before loading."""
        return self.client.get(self.entry_key(key) + ":gen") or b""

    def peek(self, key: Hashable) -> Entry | None:
        return self._decode(self.client.get(self.entry_key(key)))

    def fill(self, key: Hashable, entry: Entry, token) -> bool:
        keys, args = self._fill_args(key, entry, token)
        return self._fill_script(keys=keys, args=args) == 1

    def put(self, key: Hashable, entry: Entry) -> None:
        keys, args = self._put_args(key, entry)
        self._put_script(keys=keys, args=args)

    def delete(self, key: Hashable) -> bool:
        keys, args = self._put_args(key, None)
        return self._put_script(keys=keys, args=args) == 1

    def clear(self) -> None:
        """Delete every record under the prefix (SCAN, not KEYS) and tell near-caches."""
        batch = []
        for name in self.client.scan_iter(match=glob_literal(self.prefix) + "*", count=500):
            batch.append(name)
            if len(batch) == 500:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)
        if self.notify:
            self.client.publish(self.clear_channel, b"*")

    def acquire(self, key: Hashable, owner: str, ttl: float) -> bool:
        return bool(self.client.set(self.entry_key(key) + ":lock", owner, nx=True, px=milliseconds(ttl)))

    def release(self, key: Hashable, owner: str) -> None:
        base = self.entry_key(key)
        self._unlock_script(keys=[base + ":lock"], args=[owner, base + ":done"])

    def wait_unlocked(self, key: Hashable, timeout: float) -> bool:
        """Wait until the lock on ``key`` is released or expires (True), or ``timeout`` passes.

        Event-driven: the releaser publishes on ``{k}:done``. The lock's own PTTL bounds
        each wait, so a holder that crashed (no release) is noticed when its lock expires.
        """
        base = self.entry_key(key)
        deadline = time.monotonic() + timeout
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(base + ":done")
            pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))  # the confirmation
            while True:
                left = self.client.pttl(base + ":lock")
                if left == -2:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                wait = remaining if left < 0 else min(remaining, left / 1000 + 0.001)
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                if message is not None and message["type"] == "message":
                    return True
        finally:
            with contextlib.suppress(*OUTAGE_ERRORS):
                pubsub.close()
