"""Jump consistent hash (Lamping & Veach, 2014): no table, O(log n) time, buckets 0..n-1."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from .base import check_node, unique_nodes
from .hashing import HashFn, md5_64

__all__ = ["jump_hash", "JumpHash"]

_MASK = (1 << 64) - 1
_MAX_BUCKETS = (1 << 31) - 1


def jump_hash(key: int, buckets: int) -> int:
    """The published algorithm in its published double-precision arithmetic."""
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"key must be an int, got {type(key).__name__}")
    if isinstance(buckets, bool) or not isinstance(buckets, int):
        raise TypeError(f"buckets must be an int, got {type(buckets).__name__}")
    if not 0 <= key <= _MASK:
        raise ValueError(f"key must be in [0, 2**64), got {key}")
    if not 1 <= buckets <= _MAX_BUCKETS:
        raise ValueError(f"buckets must be in [1, 2**31 - 1], got {buckets}")
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & _MASK
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


class JumpHash:
    """Jump hash over named nodes: the bucket number indexes the node list.

    Jump hash numbers its buckets, so only the *last* node can leave without renumbering
    every other one; ``remove_node`` of any other node is refused.
    """

    def __init__(self, nodes: Iterable[str] = (), hash_fn: HashFn | None = None) -> None:
        self.hash_fn: HashFn = hash_fn or md5_64
        self._order = unique_nodes(nodes)

    @property
    def nodes(self) -> set[str]:
        return set(self._order)

    def add_node(self, node: str) -> None:
        if check_node(node) in self._order:
            raise ValueError(f"node {node!r} is already present")
        self._order.append(node)

    def remove_node(self, node: str) -> None:
        if check_node(node) not in self._order:
            raise ValueError(f"node {node!r} is not present")
        if node != self._order[-1]:
            raise ValueError(f"jump hash can only remove its last bucket ({self._order[-1]!r}), not {node!r}")
        self._order.pop()

    def get_node(self, key: Hashable) -> str:
        if not self._order:
            raise LookupError("no nodes: add_node() first")
        h = self.hash_fn(key if type(key) is str else str(key)) & _MASK
        return self._order[jump_hash(h, len(self._order))]
