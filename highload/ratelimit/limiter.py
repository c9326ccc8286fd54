"""Keyed limiters: one policy enforced per key (client IP, API key, user), on any storage."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from highload import _validate

from .decision import Decision
from .events import LimiterEvent
from .memory import MemoryStorage
from .policies import Policy
from .storage import AsyncStorage, Storage

__all__ = [
    "RateLimiter", "AsyncRateLimiter", "check_all", "acheck_all", "allow_all", "aallow_all", "most_restrictive",
]


def _storage(storage, backend):
    if backend is not None:
        if storage is not None:
            raise TypeError("pass storage= only: backend= is its old name")
        storage = backend
    return MemoryStorage() if storage is None else storage


def _setup(limiter, policy: Policy, storage, clock, prefix: str | None) -> None:
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a highload.ratelimit Policy, got {policy!r}")
    limiter.policy = policy
    limiter.storage = storage
    limiter.clock = _validate.clock(clock, default=storage.default_clock)
    if prefix is None:
        prefix = f"hl:rl:{policy.namespace}:"
    elif not isinstance(prefix, str) or not prefix:
        raise TypeError(f"prefix must be a non-empty str, got {prefix!r}")
    limiter.namespace = policy.namespace
    limiter._listeners = []
    limiter._view = storage.bind(policy, limiter.clock, prefix)
    # the view reports state resets (see highload.ratelimit.events) to this limiter's listeners
    limiter._view.listeners = limiter._listeners
    limiter._view.namespace = limiter.namespace


def _subscribe(limiter, listener: Callable) -> Callable[[], None]:
    if not callable(listener):
        raise TypeError(f"listener must be callable with a LimiterEvent, got {listener!r}")
    limiter._listeners.append(listener)
    return lambda: limiter._listeners.remove(listener) if listener in limiter._listeners else None


class RateLimiter:
    """Enforces ``policy`` separately for every key.

    >>> from highload.ratelimit import RateLimiter, FREE
    >>> limiter = RateLimiter(FREE)                       # in memory
    >>> limiter.allow("203.0.113.7")
    True

    Pass ``storage=RedisStorage(client)`` to share the limit across processes and hosts.
    ``backend=`` is the old name of ``storage=``, still accepted.

    Keys live under ``hl:rl:<policy.namespace>:`` (``prefix=`` overrides it): see
    :mod:`highload.ratelimit.policies` for why the default namespace carries a digest of the
    policy's parameters, and what an explicit ``name=`` changes.
    """

    backend = property(lambda self: self.storage, doc="The old name of :attr:`storage`.")

    def __init__(
        self,
        policy: Policy,
        storage: Storage | None = None,
        *,
        clock: Callable[[], float] | None = None,
        prefix: str | None = None,
        backend: Storage | None = None,
    ) -> None:
        storage = _storage(storage, backend)
        if inspect.iscoroutinefunction(getattr(storage, "check_many", None)):
            raise TypeError("this storage is asyncio-only: use AsyncRateLimiter")
        _setup(self, policy, storage, clock, prefix)

    def __repr__(self) -> str:
        return f"RateLimiter({self.policy!r}, storage={type(self.storage).__name__})"

    def subscribe(self, listener: Callable[[LimiterEvent], object]) -> Callable[[], None]:
        """Call ``listener(event)`` for each :class:`~highload.ratelimit.events.LimiterEvent`
        (``state_reset``); returns a function that unsubscribes it."""
        return _subscribe(self, listener)

    def allow(self, key: str, cost: float = 1) -> bool:
        """Admit one request of ``cost`` for ``key``; a rejected request consumes nothing."""
        return self._view.allow(key, cost)

    def check(self, key: str, cost: float = 1) -> Decision:
        """Like :meth:`allow`, returning the full :class:`Decision` (for headers)."""
        return self._view.check(key, cost)

    def reset(self, key: str) -> None:
        """Forget ``key``'s state, e.g. after a successful login or a support override."""
        self._view.reset(key)


class AsyncRateLimiter:
    """The asyncio twin of :class:`RateLimiter`, with the same methods as coroutines.

    ``storage`` may be an :class:`~highload.ratelimit.AsyncStorage` or a sync one (memory).
    """

    backend = property(lambda self: self.storage, doc="The old name of :attr:`storage`.")

    def __init__(
        self,
        policy: Policy,
        storage: Storage | AsyncStorage | None = None,
        *,
        clock: Callable[[], float] | None = None,
        prefix: str | None = None,
        backend: Storage | AsyncStorage | None = None,
    ) -> None:
        storage = _storage(storage, backend)
        _setup(self, policy, storage, clock, prefix)
        self._sync = not inspect.iscoroutinefunction(storage.check_many)

    def __repr__(self) -> str:
        return f"AsyncRateLimiter({self.policy!r}, storage={type(self.storage).__name__})"

    def subscribe(self, listener: Callable[[LimiterEvent], object]) -> Callable[[], None]:
        """As :meth:`RateLimiter.subscribe`; listeners are plain functions, called in the task."""
        return _subscribe(self, listener)

    async def allow(self, key: str, cost: float = 1) -> bool:
        result = self._view.allow(key, cost)
        return result if self._sync else await result

    async def check(self, key: str, cost: float = 1) -> Decision:
        result = self._view.check(key, cost)
        return result if self._sync else await result

    async def reset(self, key: str) -> None:
        result = self._view.reset(key)
        if not self._sync:
            await result


def _items(checks):
    checks = list(checks)
    if not checks:
        raise ValueError("checks must name at least one (limiter, key) pair, got none")
    storage = checks[0][0].storage
    if any(lim.storage is not storage for lim, _ in checks):
        raise ValueError("every limiter in one check_all must share one storage instance")
    return storage, [(lim._view, key) for lim, key in checks]


def check_all(checks: Sequence[tuple[RateLimiter, str]], cost: float = 1) -> list[Decision]:
    """Check several limits at once, all or nothing, in one round trip on Redis.

    Each decision's ``allowed`` is the overall outcome; ``retry_after`` is non-zero only
    for the limits that did not fit. Typical use: per IP, per user and global together.

    On Redis Cluster, limits whose keys live in different slots cannot share one atomic script:
    they are consumed slot by slot in slot order, and a refusal refunds what earlier slots took
    (:mod:`highload.ratelimit.cross_slot`). That never over-admits; under contention it may deny
    a request that an atomic check would admit, and it costs one round trip per slot.
    """
    storage, items = _items(checks)
    return storage.check_many(items, _validate.cost(cost))


def allow_all(checks: Sequence[tuple[RateLimiter, str]], cost: float = 1) -> bool:
    """:func:`check_all` when only the verdict matters: one round trip, a one-integer reply
    (on Redis Cluster, one per slot, with the same refunds as :func:`check_all`)."""
    storage, items = _items(checks)
    return storage.allow_many(items, _validate.cost(cost))


async def aallow_all(checks: Sequence[tuple[AsyncRateLimiter, str]], cost: float = 1) -> bool:
    """The asyncio twin of :func:`allow_all`."""
    storage, items = _items(checks)
    result = storage.allow_many(items, _validate.cost(cost))
    return await result if inspect.isawaitable(result) else result


async def acheck_all(checks: Sequence[tuple[AsyncRateLimiter, str]], cost: float = 1) -> list[Decision]:
    """The asyncio twin of :func:`check_all`."""
    storage, items = _items(checks)
    result = storage.check_many(items, _validate.cost(cost))
    return await result if inspect.isawaitable(result) else result


def most_restrictive(decisions: Sequence[Decision]) -> Decision:
    """The decision a client should hear about: the longest wait, else the least remaining."""
    denied = [d for d in decisions if d.retry_after > 0]
    if denied:
        return max(denied, key=lambda d: d.retry_after)
    return min(decisions, key=lambda d: d.remaining)
