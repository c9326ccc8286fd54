"""What the RingExplorer draws, computed without any widget: a ring's per-node load over a
fixed set of keys, and which keys moved between two rings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import _simulate, _validate
from .ring import ConsistentHashRing

__all__ = ["RingSnapshot", "snapshot", "node_names", "MAX_NODES"]

MAX_NODES = 32


def node_names(count: int) -> list[str]:
    return [f"db-{i + 1}" for i in range(count)]


@dataclass(frozen=True)
class RingSnapshot:
    nodes: tuple[str, ...]
    vnodes: int
    owners: tuple[str, ...]  # the owner of each key, in key order

    @property
    def loads(self) -> dict[str, int]:
        counts = Counter(self.owners)
        return {n: counts.get(n, 0) for n in self.nodes}

    @property
    def peak_to_mean(self) -> float:
        loads = list(self.loads.values())
        return max(loads) / (sum(loads) / len(loads))

    def moved_from(self, before: RingSnapshot) -> dict[tuple[str, str], int]:
        """(from, to) -> keys that changed owner since ``before`` (same keys, in the same order)."""
        if len(before.owners) != len(self.owners):
            raise ValueError("the two snapshots must cover the same keys")
        return dict(Counter((a, b) for a, b in zip(before.owners, self.owners, strict=True) if a != b))


def snapshot(nodes: int | Sequence[str], vnodes: int, keys: Sequence[str],
             impl: Callable[..., object] | None = None) -> RingSnapshot:
    """Route every key through ``impl(nodes, vnodes=vnodes)`` (default: the package's ring)."""
    names = node_names(_validate.integer("nodes", nodes, minimum=1)) if isinstance(nodes, int) else list(nodes)
    _simulate.check_impl(impl, "a class like ConsistentHashRing(nodes, vnodes=...)")
    factory = impl or ConsistentHashRing
    ring = _simulate.call("ConsistentHashRing(nodes, vnodes=...)", factory, names, vnodes=vnodes)
    owners = tuple(_simulate.call(f"get_node({key!r})", ring.get_node, key) for key in keys)
    stray = set(owners) - set(names)
    if stray:
        raise ValueError(f"get_node returned {sorted(stray)[:3]}, which are not nodes on the ring")
    return RingSnapshot(tuple(names), vnodes, owners)
