"""What a replica set is to a router: a primary that writes and reports its log position, and
replicas that read and report how far they have applied that log.

Positions are plain ints that only grow: a write's commit position on the simulation, a WAL
byte position (``pg_lsn`` as an int) on Postgres. A replica whose ``applied_lsn`` is at least a
write's position has that write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Primary", "Replica", "ReplicaSet", "Failover", "lsn_to_int", "int_to_lsn"]


@runtime_checkable
class Primary(Protocol):
    name: str

    @property
    def lsn(self) -> int: ...                      # the current end of the log

    def write(self, key: str, value: Any) -> int: ...   # commits; returns the commit position

    def read(self, key: str) -> Any: ...


@runtime_checkable
class Replica(Protocol):
    name: str

    @property
    def applied_lsn(self) -> int: ...              # everything at or below this is readable here

    def read(self, key: str) -> Any: ...

    def staleness(self) -> float: ...              # seconds behind the primary (0 when caught up)


@runtime_checkable
class ReplicaSet(Protocol):
    primary: Primary
    replicas: Sequence[Replica]

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Failover:
    """What a promotion cost: ``lost`` commits the promoted replica never received."""

    promoted: str
    received_lsn: int
    lost: int
    lost_keys: tuple[str, ...] = ()


def lsn_to_int(text: str) -> int:
    """Postgres ``'16/B374D848'`` -> an int that orders like the LSN."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def find_replica(replicas, which: int | str):
    """A replica by position or by name (``KeyError`` naming the ones there are)."""
    if isinstance(which, int):
        return replicas[which]
    for replica in replicas:
        if replica.name == which:
            return replica
    raise KeyError(f"no replica named {which!r}; have {[r.name for r in replicas]}")
