"""Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size M, filled by
every node in turn from its own permutation of the slots, so each node gets M/N slots ±1."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from .base import check_int, check_node, unique_nodes
from .hashing import HashFn, md5_64

__all__ = ["Maglev"]


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


class Maglev:
    """``Maglev(nodes, table_size=65537)``: lookups are one hash and one list index.

    The table is rebuilt on every add/remove; the paper's population keeps most slots with
    their old owner, but not all (Maglev trades a little movement for perfect balance).
    """

    def __init__(self, nodes: Iterable[str] = (), table_size: int = 65537, hash_fn: HashFn | None = None) -> None:
        check_int("table_size", table_size, 2)
        if not _is_prime(table_size):
            raise ValueError(f"table_size must be prime (the permutations need it), got {table_size}")
        self.table_size = table_size
        self.hash_fn: HashFn = hash_fn or md5_64
        self._nodes = sorted(unique_nodes(nodes))
        self._table: list[str] = []
        self._populate()

    @property
    def nodes(self) -> set[str]:
        return set(self._nodes)

    @property
    def table(self) -> list[str]:
        return list(self._table)

    def add_node(self, node: str) -> None:
        if check_node(node) in self._nodes:
            raise ValueError(f"node {node!r} is already present")
        self._nodes = sorted([*self._nodes, node])
        self._populate()

    def remove_node(self, node: str) -> None:
        if check_node(node) not in self._nodes:
            raise ValueError(f"node {node!r} is not present")
        self._nodes = [n for n in self._nodes if n != node]
        self._populate()

    def get_node(self, key: Hashable) -> str:
        if not self._table:
            raise LookupError("no nodes: add_node() first")
        return self._table[self.hash_fn(key if type(key) is str else str(key)) % self.table_size]

    def _populate(self) -> None:
        m, n = self.table_size, len(self._nodes)
        if n == 0:
            self._table = []
            return
        # Each node's permutation: slot_j = (offset + j * skip) mod M, from two independent hashes.
        offset = [self.hash_fn(f"{name}#offset") % m for name in self._nodes]
        skip = [self.hash_fn(f"{name}#skip") % (m - 1) + 1 for name in self._nodes]
        nxt = [0] * n
        entry: list[int] = [-1] * m
        filled = 0
        while True:
            for i in range(n):
                c = (offset[i] + nxt[i] * skip[i]) % m
                while entry[c] >= 0:
                    nxt[i] += 1
                    c = (offset[i] + nxt[i] * skip[i]) % m
                entry[c] = i
                nxt[i] += 1
                filled += 1
                if filled == m:
                    self._table = [self._nodes[i] for i in entry]
                    return
