"""The system of record a cache writes to, and how each flavour of cache calls it.

Sync caches take any ``MutableMapping`` (a dict, :class:`~highload.lab.database.Table`).
A store may also offer ``write_many(items)``, an atomic batch that write-back flushes use
(one transaction instead of one per key). Asyncio caches also take an :class:`AsyncStore`
(with ``awrite_many`` for batches); a plain MutableMapping is called inline (fine for
dicts, blocking for a real database).

:class:`StoreAccess` and :class:`AsyncStoreAccess` are the flavour pair the generated
caches call (see :mod:`highload.cache._flavour`): the same four calls, on either kind of store.
"""

from __future__ import annotations

from collections.abc import Hashable, MutableMapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["AsyncStore", "StoreLike", "AsyncStoreLike", "check_store", "StoreAccess", "AsyncStoreAccess"]


@runtime_checkable
class AsyncStore(Protocol):
    """A store for asyncio code. ``aread`` raises ``KeyError`` when the key is absent."""

    async def aread(self, key: Hashable) -> Any: ...

    async def awrite(self, key: Hashable, value: Any) -> None: ...

    async def adelete(self, key: Hashable) -> None: ...


#: What a sync cache takes as its store.
StoreLike = MutableMapping
#: What an asyncio cache takes as its store.
AsyncStoreLike = MutableMapping | AsyncStore


def check_store(store, *, asynchronous: bool = False):
    if asynchronous and isinstance(store, AsyncStore):
        return store
    if not all(callable(getattr(store, m, None)) for m in ("__getitem__", "__setitem__", "__delitem__")):
        kind = "a MutableMapping or an AsyncStore" if asynchronous else "a MutableMapping"
        raise TypeError(f"store must be {kind} (e.g. a dict or Database().users), got {store!r}")
    return store


class StoreAccess:
    """A sync cache's calls on its MutableMapping store."""

    __slots__ = ("store",)

    def __init__(self, store: MutableMapping) -> None:
        self.store = check_store(store)

    def read(self, key: Hashable) -> Any:
        return self.store[key]

    def write(self, key: Hashable, value: Any) -> None:
        self.store[key] = value

    def delete(self, key: Hashable) -> None:
        del self.store[key]

    def write_many(self, items: list[tuple[Hashable, Any]]) -> bool:
        """Write ``items`` as one batch if the store offers ``write_many``; False if it does not."""
        batch = getattr(self.store, "write_many", None)
        if not callable(batch):
            return False
        batch(items)
        return True


class AsyncStoreAccess:
    """An asyncio cache's calls on its store: an :class:`AsyncStore`, or a MutableMapping inline."""

    __slots__ = ("store", "_awaited")

    def __init__(self, store: MutableMapping | AsyncStore) -> None:
        self.store = check_store(store, asynchronous=True)
        self._awaited = isinstance(store, AsyncStore)

    async def read(self, key: Hashable) -> Any:
        return await self.store.aread(key) if self._awaited else self.store[key]

    async def write(self, key: Hashable, value: Any) -> None:
        if self._awaited:
            await self.store.awrite(key, value)
        else:
            self.store[key] = value

    async def delete(self, key: Hashable) -> None:
        if self._awaited:
            await self.store.adelete(key)
        else:
            del self.store[key]

    async def write_many(self, items: list[tuple[Hashable, Any]]) -> bool:
        """One batch through ``awrite_many`` (an AsyncStore) or ``write_many`` (a mapping), if offered."""
        batch = getattr(self.store, "awrite_many" if self._awaited else "write_many", None)
        if not callable(batch):
            return False
        if self._awaited:
            await batch(items)
        else:
            batch(items)
        return True
