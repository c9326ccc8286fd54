"""A replica wrapper for tests that count how often a router asks a replica its position."""

from __future__ import annotations


class AskedReplica:
    """Wraps a replica (simulated or real) and counts reads of its ``applied_lsn``."""

    def __init__(self, replica) -> None:
        self.replica, self.name, self.asked = replica, replica.name, 0

    @property
    def applied_lsn(self) -> int:
        self.asked += 1
        return self.replica.applied_lsn

    def read(self, key):
        return self.replica.read(key)
