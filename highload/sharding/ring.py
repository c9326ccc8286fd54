"""Consistent hashing on a ring of virtual nodes (Karger et al.), the exercise's contract.

Node ``n`` owns the points ``hash(f"{n}#{i}")`` for ``i < vnodes``; a key belongs to the first
point at or after ``hash(key)``, wrapping around. On equal points the node name that sorts
first wins, so every correct ring agrees on every key. This is not ketama's layout (ketama,
as in uhashring, cuts four little-endian 32-bit points out of each md5 digest).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Iterator

from .base import check_int, check_node, unique_nodes
from .hashing import HashFn, md5_64

__all__ = ["ConsistentHashRing"]


class ConsistentHashRing:
    """``ConsistentHashRing(nodes=(), vnodes=100, hash_fn=None)``; ``get_node(key)``.

    >>> ring = ConsistentHashRing(["a", "b", "c"])
    >>> ring.get_node("user:42") in {"a", "b", "c"}
    True
    """

    def __init__(self, nodes: Iterable[str] = (), vnodes: int = 100, hash_fn: HashFn | None = None) -> None:
        self.vnodes = check_int("vnodes", vnodes, 1)
        self.hash_fn: HashFn = hash_fn or md5_64
        self._nodes: set[str] = set()
        self._ring: list[tuple[int, str]] = []
        # Two parallel lists make the lookup one bisect on ints and one index.
        self._points: list[int] = []
        self._owners: list[str] = []
        self._wrapped: list[str] = []
        for node in unique_nodes(nodes):
            self._insert(node)
        self._rebuild()

    @property
    def nodes(self) -> set[str]:
        """A new set of node names: changing it does not change the ring."""
        return set(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return f"ConsistentHashRing({sorted(self._nodes)!r}, vnodes={self.vnodes})"

    def add_node(self, node: str) -> None:
        if check_node(node) in self._nodes:
            raise ValueError(f"node {node!r} is already on the ring")
        self._insert(node)
        self._rebuild()

    def remove_node(self, node: str) -> None:
        if check_node(node) not in self._nodes:
            raise ValueError(f"node {node!r} is not on the ring")
        self._nodes.discard(node)
        self._ring = [point for point in self._ring if point[1] != node]
        self._rebuild()

    def get_node(self, key: Hashable) -> str:
        """The owner of the first point at or after hash(key), wrapping to the smallest."""
        if not self._points:
            raise LookupError("the ring has no nodes: add_node() first")
        # _wrapped ends with the first owner again, so "past the last point" needs no branch.
        return self._wrapped[bisect_left(self._points, self.hash_fn(key if type(key) is str else str(key)))]

    def walk(self, key: Hashable) -> Iterator[str]:
        """Distinct nodes clockwise from the key's position: its owner first, then the fallbacks
        a bounded-load ring or a replica set would use."""
        if not self._points:
            raise LookupError("the ring has no nodes: add_node() first")
        start = bisect_left(self._points, self.hash_fn(key if type(key) is str else str(key)))
        seen: set[str] = set()
        n = len(self._owners)
        for step in range(n):
            owner = self._owners[(start + step) % n]
            if owner not in seen:
                seen.add(owner)
                yield owner
                if len(seen) == len(self._nodes):
                    return

    def points(self) -> list[tuple[int, str]]:
        """Every (position, node) on the ring, in ring order (for plots)."""
        return list(self._ring)

    def _insert(self, node: str) -> None:
        self._nodes.add(node)
        self._ring.extend((self.hash_fn(f"{node}#{i}"), node) for i in range(self.vnodes))

    def _rebuild(self) -> None:
        # Sorting (position, name) puts the name that sorts first ahead on equal positions.
        self._ring.sort()
        self._points = [p for p, _ in self._ring]
        self._owners = [n for _, n in self._ring]
        self._wrapped = self._owners + self._owners[:1]
