"""Rebalancing plans: which keys move, from where to where, against the ideal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from .base import Router

__all__ = ["Move", "Plan", "plan", "peak_to_mean"]


@dataclass(frozen=True)
class Move:
    key: Hashable
    source: str
    target: str


@dataclass(frozen=True)
class Plan:
    moves: list[Move]
    keys: int
    ideal_fraction: float
    load_before: dict[str, int]  # every node of either layout (a joining node shows 0)
    load_after: dict[str, int]
    nodes_before: frozenset[str] = frozenset()
    nodes_after: frozenset[str] = frozenset()

    @property
    def peak_to_mean_before(self) -> float:
        """Balance of the old layout, over its own nodes only."""
        return peak_to_mean([self.load_before[n] for n in self.nodes_before])

    @property
    def peak_to_mean_after(self) -> float:
        return peak_to_mean([self.load_after[n] for n in self.nodes_after])

    @property
    def moved_fraction(self) -> float:
        return len(self.moves) / self.keys if self.keys else 0.0

    @property
    def vs_ideal(self) -> float:
        """Moved fraction over the ideal one (1.0 = no key moved that did not have to)."""
        return self.moved_fraction / self.ideal_fraction if self.ideal_fraction else float("inf") if self.moves else 1.0

    def flows(self) -> dict[tuple[str, str], int]:
        """How many keys go from each node to each other node."""
        return dict(Counter((m.source, m.target) for m in self.moves))


def ideal_fraction(old_nodes: set[str], new_nodes: set[str]) -> float:
    """The least fraction of keys that must move if both layouts are perfectly balanced:
    the share each node loses, summed (1/(N+1) for adding one node to N, 1/N for removing one)."""
    old_share = {n: 1 / len(old_nodes) for n in old_nodes} if old_nodes else {}
    new_share = {n: 1 / len(new_nodes) for n in new_nodes} if new_nodes else {}
    return sum(max(0.0, old_share.get(n, 0.0) - new_share.get(n, 0.0)) for n in old_nodes | new_nodes)


def plan(old: Router, new: Router, keys: Iterable[Hashable]) -> Plan:
    """Route every key with ``old`` and ``new``; list the keys whose node changes."""
    moves, before, after, count = [], Counter(), Counter(), 0
    for key in keys:
        a, b = old.get_node(key), new.get_node(key)
        before[a] += 1
        after[b] += 1
        count += 1
        if a != b:
            moves.append(Move(key, a, b))
    for n in old.nodes | new.nodes:  # a node joining or leaving shows as 0 on one side
        before.setdefault(n, 0)
        after.setdefault(n, 0)
    return Plan(moves, count, ideal_fraction(old.nodes, new.nodes), dict(before), dict(after),
                frozenset(old.nodes), frozenset(new.nodes))


def peak_to_mean(load: dict[str, int] | Iterable[int]) -> float:
    """The busiest node's load over the mean load (1.0 = perfectly even)."""
    values = list(load.values()) if isinstance(load, dict) else list(load)
    mean = sum(values) / len(values)
    return max(values) / mean if mean else 1.0
