"""The one protocol every router meets, and the checks the routers share."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Protocol, runtime_checkable

__all__ = ["Router", "check_node", "unique_nodes"]


@runtime_checkable
class Router(Protocol):
    """Anything that maps a key to one node: ``get_node(key)`` and a ``nodes`` set."""

    def get_node(self, key: Hashable) -> str: ...

    @property
    def nodes(self) -> set[str]: ...


def check_node(node: object) -> str:
    if not isinstance(node, str):
        raise TypeError(f"node names must be str, got {type(node).__name__} {node!r}")
    return node


def unique_nodes(nodes: Iterable[str]) -> list[str]:
    """The constructor's nodes, in order; a repeated name is a ``ValueError``."""
    seen: list[str] = []
    for node in nodes:
        if check_node(node) in seen:
            raise ValueError(f"node {node!r} is listed twice")
        seen.append(node)
    return seen


def check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value
