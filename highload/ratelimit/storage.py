"""What a keyed limiter's storage must offer, as typed protocols (the word ``limits`` uses).

A storage keeps many keys' state for any number of policies. :meth:`Storage.bind` gives a
:class:`PolicyView`: one policy on one key prefix, with everything that does not change per
call computed once, which is what :class:`~highload.ratelimit.RateLimiter` calls per request.
``check_many``/``allow_many`` take ``(view, key)`` pairs and decide all or nothing.

``highload.cache`` has *backends* (where cached entries live); rate limiting has *storages*.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from .decision import Decision
from .policies import Policy

__all__ = ["Storage", "AsyncStorage", "PolicyView", "AsyncPolicyView"]


@runtime_checkable
class PolicyView(Protocol):
    """One policy bound to one storage and key prefix (sync)."""

    def allow(self, key: str, cost: float = 1) -> bool: ...

    def check(self, key: str, cost: float = 1) -> Decision: ...

    def reset(self, key: str) -> None: ...


@runtime_checkable
class AsyncPolicyView(Protocol):
    """The asyncio twin of :class:`PolicyView`."""

    def allow(self, key: str, cost: float = 1) -> Awaitable[bool]: ...

    def check(self, key: str, cost: float = 1) -> Awaitable[Decision]: ...

    def reset(self, key: str) -> Awaitable[None]: ...


@runtime_checkable
class Storage(Protocol):
    """Where a sync :class:`~highload.ratelimit.RateLimiter` keeps its keys' state."""

    default_clock: Callable[[], float]

    def bind(self, policy: Policy, clock: Callable[[], float], prefix: str) -> PolicyView: ...

    def check_many(self, items: Sequence[tuple[PolicyView, str]], cost: float) -> list[Decision]: ...

    def allow_many(self, items: Sequence[tuple[PolicyView, str]], cost: float) -> bool: ...


@runtime_checkable
class AsyncStorage(Protocol):
    """Where an :class:`~highload.ratelimit.AsyncRateLimiter` keeps its keys' state (coroutines)."""

    default_clock: Callable[[], float]

    def bind(self, policy: Policy, clock: Callable[[], float], prefix: str) -> AsyncPolicyView: ...

    async def check_many(self, items: Sequence[tuple[AsyncPolicyView, str]], cost: float) -> list[Decision]: ...

    async def allow_many(self, items: Sequence[tuple[AsyncPolicyView, str]], cost: float) -> bool: ...
