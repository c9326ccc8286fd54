"""Rendezvous (highest random weight) hashing, Thaler & Ravishankar 1996: every node scores
the key; the highest score wins. O(nodes) per lookup, no table, minimal movement."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from .base import check_node, unique_nodes
from .hashing import HashFn, md5_64

__all__ = ["RendezvousHash"]


class RendezvousHash:
    def __init__(self, nodes: Iterable[str] = (), hash_fn: HashFn | None = None) -> None:
        self.hash_fn: HashFn = hash_fn or md5_64
        self._nodes = set(unique_nodes(nodes))

    @property
    def nodes(self) -> set[str]:
        return set(self._nodes)

    def add_node(self, node: str) -> None:
        if check_node(node) in self._nodes:
            raise ValueError(f"node {node!r} is already present")
        self._nodes.add(node)

    def remove_node(self, node: str) -> None:
        if check_node(node) not in self._nodes:
            raise ValueError(f"node {node!r} is not present")
        self._nodes.discard(node)

    def get_node(self, key: Hashable) -> str:
        if not self._nodes:
            raise LookupError("no nodes: add_node() first")
        text = key if type(key) is str else str(key)
        # Ties (vanishingly rare) go to the name that sorts first, so the answer is deterministic.
        return max(self._nodes, key=lambda n: (self.hash_fn(f"{n}:{text}"), _inverted(n)))


def _inverted(name: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in name) + (1,)
