"""When the dependency cannot answer: time out, fall back, or fail over to another endpoint."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from highload import _validate

from .errors import CircuitOpenError

__all__ = ["with_timeout", "Fallback", "Failover", "LIVE", "CACHE", "DEFAULT"]

LIVE, CACHE, DEFAULT = "live", "cache-fallback", "default-fallback"
_MISSING = object()


def _key_of_arguments(*args: Any, **kwargs: Any) -> Hashable:
    """The default cache key: the call's arguments, keyword order ignored."""
    return args, tuple(sorted(kwargs.items()))


async def with_timeout(seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await ``fn(*args, **kwargs)`` for at most ``seconds``, else raise ``TimeoutError``.

    Only coroutines can be cut off safely; a blocking call in a thread cannot be interrupted,
    so give its client library a timeout of its own.
    """
    _validate.number("seconds", seconds, minimum=0, inclusive=False)
    async with asyncio.timeout(seconds):
        return await fn(*args, **kwargs)


class Fallback:
    """Serve the last good response for the same key (the inventory cache of an OpenResty gateway), else a default.

    ``call_with_source`` says where the answer came from: "live", "cache-fallback" or
    "default-fallback"; a web layer turns that into an ``X-Served-From`` header.
    """

    def __init__(self, *, default: Any = _MISSING, use_last_good: bool = True,
                 on: tuple[type[BaseException], ...] = (Exception,),
                 key: Callable[..., Hashable] | None = None, max_entries: int = 10_000) -> None:
        self.default, self.use_last_good, self.on = default, use_last_good, on
        self.key = _key_of_arguments if key is None else key
        self.max_entries = _validate.integer("max_entries", max_entries, minimum=1)
        self._last_good: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def _remember(self, key: Hashable, value: Any) -> None:
        if self.use_last_good:
            with self._lock:
                self._last_good.pop(key, None)
                self._last_good[key] = value
                if len(self._last_good) > self.max_entries:
                    self._last_good.pop(next(iter(self._last_good)))  # the least recently stored

    def _fallback(self, key: Hashable, error: BaseException) -> tuple[Any, str]:
        with self._lock:
            if self.use_last_good and key in self._last_good:
                return self._last_good[key], CACHE
        if self.default is not _MISSING:
            return self.default, DEFAULT
        raise error

    def call_with_source(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str]:
        key = self.key(*args, **kwargs)
        try:
            value = fn(*args, **kwargs)
        except self.on as error:
            return self._fallback(key, error)
        self._remember(key, value)
        return value, LIVE

    async def acall_with_source(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str]:
        key = self.key(*args, **kwargs)
        try:
            value = await fn(*args, **kwargs)
        except self.on as error:
            return self._fallback(key, error)
        self._remember(key, value)
        return value, LIVE

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.call_with_source(fn, *args, **kwargs)[0]

    async def acall(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return (await self.acall_with_source(fn, *args, **kwargs))[0]


class Failover:
    """Active-passive failover: try ``endpoints`` in order, skipping any whose breaker is open.

    ``breakers`` maps an endpoint to its own :class:`CircuitBreaker` (one per upstream, never
    one for the whole pool: a common mistake).
    """

    def __init__(self, endpoints: Sequence[Any], *, breakers: dict[Any, Any] | None = None,
                 on: tuple[type[BaseException], ...] = (Exception,)) -> None:
        if not endpoints:
            raise ValueError("endpoints must name at least one endpoint, got none")
        self.endpoints, self.breakers, self.on = list(endpoints), breakers or {}, on

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(endpoint)`` on the first endpoint that answers; the last error if none does."""
        last: BaseException | None = None
        for endpoint in self.endpoints:
            breaker = self.breakers.get(endpoint)
            try:
                return breaker.call(fn, endpoint) if breaker else fn(endpoint)
            except CircuitOpenError as error:
                last = error
            except self.on as error:
                last = error
        assert last is not None
        raise last

    async def acall(self, fn: Callable[[Any], Any]) -> Any:
        last: BaseException | None = None
        for endpoint in self.endpoints:
            breaker = self.breakers.get(endpoint)
            try:
                return await (breaker.acall(fn, endpoint) if breaker else fn(endpoint))
            except CircuitOpenError as error:
                last = error
            except self.on as error:
                last = error
        assert last is not None
        raise last
