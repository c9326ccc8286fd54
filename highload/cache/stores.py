"""The system of record a write-through or write-back cache writes to.

Sync caches take any ``MutableMapping`` (a dict, :class:`~highload.cache.db.Table`).
A store may also offer ``write_many(items)``, an atomic batch that write-back flushes use
(one transaction instead of one per key). Asyncio caches also take an :class:`AsyncStore`
(with ``awrite_many`` for batches); a plain MutableMapping is called inline (fine for
dicts, blocking for a real database).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol, runtime_checkable

__all__ = ["AsyncStore", "check_store", "aread", "awrite", "adelete"]


@runtime_checkable
class AsyncStore(Protocol):
    """A store for asyncio code. ``aread`` raises ``KeyError`` when the key is absent."""

    async def aread(self, key: Hashable) -> Any: ...

    async def awrite(self, key: Hashable, value: Any) -> None: ...

    async def adelete(self, key: Hashable) -> None: ...


def check_store(store, *, asynchronous: bool = False):
    if asynchronous and isinstance(store, AsyncStore):
        return store
    if not all(callable(getattr(store, m, None)) for m in ("__getitem__", "__setitem__", "__delitem__")):
        kind = "a MutableMapping or an AsyncStore" if asynchronous else "a MutableMapping"
        raise TypeError(f"store must be {kind} (e.g. a dict or Database().users), got {store!r}")
    return store


async def aread(store, key: Hashable) -> Any:
    if isinstance(store, AsyncStore):
        return await store.aread(key)
    return store[key]


async def awrite(store, key: Hashable, value: Any) -> None:
    if isinstance(store, AsyncStore):
        await store.awrite(key, value)
    else:
        store[key] = value


async def adelete(store, key: Hashable) -> None:
    if isinstance(store, AsyncStore):
        await store.adelete(key)
    else:
        del store[key]
