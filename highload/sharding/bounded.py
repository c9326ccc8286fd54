"""Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam, 2018).

A plain ring sends a hot range to one node. Here each node may hold at most
``ceil((1 + epsilon) * m / n)`` keys (m keys including the new one, n nodes): a key whose
ring owner is full walks clockwise to the next node with room. Placement depends on what
is already placed, so this router is stateful: ``assign(key)`` and ``release(key)``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable

from .base import check_node
from .hashing import HashFn
from .ring import ConsistentHashRing

__all__ = ["BoundedLoadRing"]


class BoundedLoadRing:
    def __init__(self, nodes: Iterable[str] = (), epsilon: float = 0.25, vnodes: int = 100,
                 hash_fn: HashFn | None = None) -> None:
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"epsilon must be a number > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self._ring = ConsistentHashRing(nodes, vnodes=vnodes, hash_fn=hash_fn)
        self._load: dict[str, int] = dict.fromkeys(self._ring.nodes, 0)
        self._where: dict[Hashable, str] = {}

    @property
    def nodes(self) -> set[str]:
        return self._ring.nodes

    @property
    def loads(self) -> dict[str, int]:
        """Keys held per node, right now."""
        return dict(self._load)

    def capacity(self, keys: int | None = None) -> int:
        """The most keys any node may hold once ``keys`` keys are placed (default: one more)."""
        m = len(self._where) + 1 if keys is None else keys
        return math.ceil((1 + self.epsilon) * m / len(self._load))

    def lookup(self, key: Hashable) -> str | None:
        """Where ``key`` is now, or ``None`` if it is not assigned."""
        return self._where.get(key)

    def assign(self, key: Hashable, route: Hashable | None = None) -> str:
        """Place ``key`` (idempotent: an assigned key stays where it is).

        ``route`` is where on the ring it starts looking (default: ``key`` itself). Pass the
        requested item as ``route`` and a request id as ``key`` to spread the requests for one
        hot item over the nodes that follow it, as load balancers using this algorithm do.
        """
        if key in self._where:
            return self._where[key]
        if not self._load:
            raise LookupError("the ring has no nodes: add_node() first")
        cap = self.capacity()
        for node in self._ring.walk(key if route is None else route):
            if self._load[node] < cap:
                self._load[node] += 1
                self._where[key] = node
                return node
        raise AssertionError("unreachable: the capacity always leaves room somewhere")

    def release(self, key: Hashable) -> str:
        """Forget ``key``; returns the node that held it. ``KeyError`` if it was not assigned."""
        if key not in self._where:
            raise KeyError(f"key {key!r} is not assigned")
        node = self._where.pop(key)
        self._load[node] -= 1
        return node

    def add_node(self, node: str) -> None:
        # Placed keys stay put: a new node fills as new keys arrive (no movement on add).
        self._ring.add_node(node)
        self._load[node] = 0

    def remove_node(self, node: str) -> None:
        """Remove ``node`` and re-place its keys on the remaining nodes."""
        if check_node(node) not in self._load:
            raise ValueError(f"node {node!r} is not present")
        orphans = [k for k, n in self._where.items() if n == node]
        self._ring.remove_node(node)
        del self._load[node]
        for key in orphans:
            del self._where[key]
        for key in orphans:
            if self._load:
                self.assign(key)
