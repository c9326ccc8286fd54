"""The four sharding methods of the lesson's opening: range, modulo, entity and geo.

``ModuloSharder(4)`` is the classic ``user_id % 4`` (341 -> shard 1, 762 -> shard 2); its
flaw is that changing N moves almost every key. ``GeoSharder`` is the two-level answer to
"which shard holds user 1234?": pick the region first, then hash inside it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from .base import Router, check_int
from .hashing import HashFn, md5_64

__all__ = ["RangeSharder", "ModuloSharder", "EntitySharder", "GeoSharder"]


class RangeSharder:
    """``RangeSharder([("M", "shard-a-m"), (None, "shard-n-z")])``: sorted upper bounds.

    Each boundary is ``(upper, node)``: keys ``< upper`` (and >= the previous bound) go to
    ``node``; the last boundary's ``upper`` is ``None`` (everything above). Works for any
    comparable keys: names (A–M / N–Z) or ID ranges.
    """

    def __init__(self, boundaries: Sequence[tuple[Any, str]]) -> None:
        if not boundaries:
            raise ValueError("boundaries must not be empty")
        *bounded, last = boundaries
        if last[0] is not None:
            raise ValueError("the last boundary's upper bound must be None (it takes the rest)")
        uppers = [upper for upper, _ in bounded]
        if any(a >= b for a, b in zip(uppers, uppers[1:], strict=False)):
            raise ValueError(f"upper bounds must increase strictly, got {uppers}")
        self._uppers = uppers
        self._owners = [node for _, node in boundaries]

    @property
    def nodes(self) -> set[str]:
        return set(self._owners)

    def get_node(self, key: Hashable) -> str:
        return self._owners[bisect_right(self._uppers, key)]


class ModuloSharder:
    """``hash(key) % n``; int keys use the int itself, so ``get_node(341) == "shard-1"``."""

    def __init__(self, n: int, names: Sequence[str] | None = None, hash_fn: HashFn | None = None) -> None:
        check_int("n", n, 1)
        self.names = list(names) if names is not None else [f"shard-{i}" for i in range(n)]
        if len(self.names) != n:
            raise ValueError(f"names must have n={n} entries, got {len(self.names)}")
        self.hash_fn: HashFn = hash_fn or md5_64

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def nodes(self) -> set[str]:
        return set(self.names)

    def shard_of(self, key: Hashable) -> int:
        number = key if type(key) is int else self.hash_fn(key if type(key) is str else str(key))
        return number % self.n

    def get_node(self, key: Hashable) -> str:
        return self.names[self.shard_of(key)]

    def add_node(self, node: str) -> None:
        if node in self.names:
            raise ValueError(f"node {node!r} is already present")
        self.names.append(node)

    def remove_node(self, node: str) -> None:
        if node not in self.names:
            raise ValueError(f"node {node!r} is not present")
        self.names.remove(node)


class EntitySharder:
    """Feature/entity sharding: each table (entity) lives on its own shard.

    Keys are ``(table, id)`` pairs or ``"table:id"`` strings; ``get_node`` returns the table's
    shard. A join across two tables on different shards is then an application-side join.
    """

    def __init__(self, tables: Mapping[str, str]) -> None:
        if not tables:
            raise ValueError("tables must not be empty")
        self.tables = dict(tables)

    @property
    def nodes(self) -> set[str]:
        return set(self.tables.values())

    def get_node(self, key: Hashable) -> str:
        table = key[0] if isinstance(key, tuple) else str(key).split(":", 1)[0]
        try:
            return self.tables[table]
        except KeyError:
            raise LookupError(f"no shard for table {table!r}; known tables: {sorted(self.tables)}") from None


class GeoSharder:
    """Region first, then an inner router inside the region: ``get_node((region, key))``.

    ``GeoSharder({"eu": ConsistentHashRing(["eu-1", "eu-2"]), "us": ModuloSharder(2, ...)})``.
    ``region_of`` turns a key into its region when keys are not ``(region, key)`` pairs.
    """

    def __init__(self, regions: Mapping[str, Router],
                 region_of: Callable[[Hashable], str] | None = None) -> None:
        if not regions:
            raise ValueError("regions must not be empty")
        self.regions = dict(regions)
        self.region_of = region_of

    @property
    def nodes(self) -> set[str]:
        return set().union(*(router.nodes for router in self.regions.values()))

    def get_node(self, key: Hashable) -> str:
        if self.region_of is not None:
            region, inner = self.region_of(key), key
        else:
            if not (isinstance(key, tuple) and len(key) == 2):
                raise TypeError("without region_of=, keys must be (region, key) pairs")
            region, inner = key
        try:
            router = self.regions[region]
        except KeyError:
            raise LookupError(f"unknown region {region!r}; known: {sorted(self.regions)}") from None
        return router.get_node(inner)
