"""The asyncio twin of :class:`~highload.cache.near.NearCache` (see that module for the design)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from .async_aside import AsyncCacheAside
from .near import NearBase, _text
from .redis_backend import OUTAGE_ERRORS, AsyncRedisBackend

__all__ = ["AsyncNearCache"]


class AsyncNearCache(NearBase):
    """The asyncio twin of :class:`NearCache`, over an :class:`AsyncRedisBackend`.

    Create it with ``await AsyncNearCache.create(...)`` (subscribing is a round trip).
    """

    def __init__(self, loader: Callable[[Any], Any] | None = None, ttl: float | None = None, *,
                 backend: AsyncRedisBackend, max_entries: int = 1024, local_ttl: float | None = None,
                 drain_timeout: float = 10.0, poll_on_read: bool = True, poll_interval: float = 0.001,
                 **options: Any) -> None:
        if not isinstance(backend, AsyncRedisBackend):
            raise TypeError(f"backend must be an AsyncRedisBackend (the shared tier), got {backend!r}")
        self.remote = AsyncCacheAside(loader, ttl, backend=backend, **options)
        self._setup(max_entries, local_ttl, drain_timeout, poll_on_read, poll_interval)
        self._lock = asyncio.Lock()
        self._pubsub = backend.client.pubsub()
        self._started = False

    @classmethod
    async def create(cls, *args: Any, **kwargs: Any) -> AsyncNearCache:
        """Build and subscribe (waiting for Redis to confirm) before any read."""
        near = cls(*args, **kwargs)
        await near.start()
        return near

    async def start(self) -> None:
        if self._started:
            return
        await self._pubsub.subscribe(self.backend.channel, self.backend.clear_channel)
        deadline = time.monotonic() + self.drain_timeout
        confirmed = 0
        while confirmed < 2:
            message = await self._pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if message is None:
                raise TimeoutError(f"no SUBSCRIBE confirmation from Redis within {self.drain_timeout}s")
            confirmed += message["type"] == "subscribe"
        self._watch_reconnects(self._pubsub)
        self._started = True

    async def get(self, key: Hashable) -> Any:
        return await self.get_or_load(key)

    async def get_or_load(self, key: Hashable, loader: Callable[[Any], Any] | None = None) -> Any:
        await self.start()
        if self.poll_on_read:
            now = time.monotonic()
            if now >= self._next_poll:  # as in NearCache: at most once per poll_interval
                self._next_poll = now + self.poll_interval
                await self.poll()
        name = self.backend.name_of(key)
        hit, value, token = self._local_hit(name)
        if hit:
            return value
        value = await self.remote.get_or_load(key, loader)
        entry = self._local_entry(value)
        if entry is not None:
            self.local.fill(name, entry, token)
        return value

    async def set(self, key: Hashable, value: Any) -> None:
        self.local.delete(self.backend.name_of(key))
        await self.remote.set(key, value)

    async def write(self, key: Hashable, value: Any) -> None:
        await self.remote.write(key, value)
        self.local.delete(self.backend.name_of(key))

    async def invalidate(self, key: Hashable) -> bool:
        self.local.delete(self.backend.name_of(key))
        return await self.remote.invalidate(key)

    async def poll(self) -> int:
        applied = 0
        async with self._lock:
            try:
                while (message := await self._pubsub.get_message(timeout=0.0)) is not None:
                    applied += self._apply(message)
                self._check_reconnect()
            except OUTAGE_ERRORS:
                self._lost("poll")
        return applied

    async def drain(self) -> int:
        await self.start()
        token = uuid.uuid4().hex
        applied = 0
        async with self._lock:
            try:
                await self._pubsub.ping(token)
                deadline = time.monotonic() + self.drain_timeout
                while True:
                    remaining = deadline - time.monotonic()
                    message = await self._pubsub.get_message(timeout=max(0.0, remaining))
                    if message is not None and message["type"] == "pong" and _text(message["data"]) == token:
                        break
                    if message is None and remaining <= 0:
                        self._lost("drain timeout")
                        return applied
                    applied += self._apply(message)
                self._check_reconnect()
            except OUTAGE_ERRORS:
                self._lost("drain")
        return applied

    async def aclose(self) -> None:
        async with self._lock:
            try:
                await self._pubsub.unsubscribe()
            except OUTAGE_ERRORS:
                pass
            await self._pubsub.aclose()
        await self.remote.aclose()

    async def __aenter__(self) -> AsyncNearCache:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
