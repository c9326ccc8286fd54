"""Keyed limiters: one policy enforced per key (client IP, API key, user), on any backend."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from highload import _validate

from .decision import Decision
from .memory import MemoryBackend
from .policies import Policy

__all__ = [
    "RateLimiter", "AsyncRateLimiter", "check_all", "acheck_all", "allow_all", "aallow_all", "most_restrictive",
]


def _setup(limiter, policy: Policy, backend, clock, prefix: str | None) -> None:
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a highload.ratelimit Policy, got {policy!r}")
    if clock is not None and not callable(clock):
        raise TypeError(f"clock must be a zero-argument callable returning seconds, got {clock!r}")
    limiter.policy = policy
    limiter.backend = backend
    limiter.clock = backend.default_clock if clock is None else clock  # a falsy clock is still a clock
    prefix = f"hl:rl:{policy.name}:" if prefix is None else prefix
    limiter._store = backend.bind(policy, limiter.clock, prefix)


class RateLimiter:
    """Enforces ``policy`` separately for every key.

    >>> from highload.ratelimit import RateLimiter, FREE
    >>> limiter = RateLimiter(FREE)                       # in memory
    >>> limiter.allow("203.0.113.7")
    True

    Pass ``backend=RedisBackend(client)`` to share the limit across processes and hosts.
    """

    def __init__(
        self,
        policy: Policy,
        backend=None,
        *,
        clock: Callable[[], float] | None = None,
        prefix: str | None = None,
    ) -> None:
        backend = MemoryBackend() if backend is None else backend
        if inspect.iscoroutinefunction(getattr(backend, "check_many", None)):
            raise TypeError("this backend is asyncio-only: use AsyncRateLimiter")
        _setup(self, policy, backend, clock, prefix)

    def __repr__(self) -> str:
        return f"RateLimiter({self.policy!r}, backend={type(self.backend).__name__})"

    def allow(self, key: str, cost: float = 1) -> bool:
        """Admit one request of ``cost`` for ``key``; a rejected request consumes nothing."""
        return self._store.allow(key, cost)

    def check(self, key: str, cost: float = 1) -> Decision:
        """Like :meth:`allow`, returning the full :class:`Decision` (for headers)."""
        return self._store.check(key, cost)

    def reset(self, key: str) -> None:
        """Forget ``key``'s state, e.g. after a successful login or a support override."""
        self._store.reset(key)


class AsyncRateLimiter:
    """The asyncio twin of :class:`RateLimiter`, with the same methods as coroutines."""

    def __init__(
        self,
        policy: Policy,
        backend=None,
        *,
        clock: Callable[[], float] | None = None,
        prefix: str | None = None,
    ) -> None:
        backend = MemoryBackend() if backend is None else backend
        _setup(self, policy, backend, clock, prefix)
        self._sync = not inspect.iscoroutinefunction(backend.check_many)

    def __repr__(self) -> str:
        return f"AsyncRateLimiter({self.policy!r}, backend={type(self.backend).__name__})"

    async def allow(self, key: str, cost: float = 1) -> bool:
        result = self._store.allow(key, cost)
        return result if self._sync else await result

    async def check(self, key: str, cost: float = 1) -> Decision:
        result = self._store.check(key, cost)
        return result if self._sync else await result

    async def reset(self, key: str) -> None:
        result = self._store.reset(key)
        if not self._sync:
            await result


def _items(checks):
    checks = list(checks)
    if not checks:
        raise ValueError("checks must name at least one (limiter, key) pair, got none")
    backend = checks[0][0].backend
    if any(lim.backend is not backend for lim, _ in checks):
        raise ValueError("every limiter in one check_all must share one backend instance")
    return backend, [(lim._store, key) for lim, key in checks]


def check_all(checks: Sequence[tuple[RateLimiter, str]], cost: float = 1) -> list[Decision]:
    """Check several limits at once, all or nothing, in one round trip on Redis.

    Each decision's ``allowed`` is the overall outcome; ``retry_after`` is non-zero only
    for the limits that did not fit. Typical use: per IP, per user and global together.
    """
    backend, items = _items(checks)
    return backend.check_many(items, _validate.cost(cost))


def allow_all(checks: Sequence[tuple[RateLimiter, str]], cost: float = 1) -> bool:
    """:func:`check_all` when only the verdict matters: one round trip, a one-integer reply."""
    backend, items = _items(checks)
    return backend.allow_many(items, _validate.cost(cost))


async def aallow_all(checks: Sequence[tuple[AsyncRateLimiter, str]], cost: float = 1) -> bool:
    """The asyncio twin of :func:`allow_all`."""
    backend, items = _items(checks)
    result = backend.allow_many(items, _validate.cost(cost))
    return await result if inspect.isawaitable(result) else result


async def acheck_all(checks: Sequence[tuple[AsyncRateLimiter, str]], cost: float = 1) -> list[Decision]:
    """The asyncio twin of :func:`check_all`."""
    backend, items = _items(checks)
    result = backend.check_many(items, _validate.cost(cost))
    return await result if inspect.isawaitable(result) else result


def most_restrictive(decisions: Sequence[Decision]) -> Decision:
    """The decision a client should hear about: the longest wait, else the least remaining."""
    denied = [d for d in decisions if d.retry_after > 0]
    if denied:
        return max(denied, key=lambda d: d.retry_after)
    return min(decisions, key=lambda d: d.remaining)
