"""The exercise's router: read-your-writes and monotonic reads by log-position token.

A session carries the highest log position it has written or seen (its *token*). A read goes to
the first replica, in round-robin order, that has applied at least that position; if none has,
it goes to the primary. Nothing waits and no timer decides: the position does. This is the
contract of lesson 04's exercise (hidden suite ``read_your_writes``); :class:`ReadRouter` with
:class:`SessionToken` is the same rule with waiting, events and the other policies beside it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

__all__ = ["SessionRouter"]


class SessionRouter:
    """``SessionRouter(primary, replicas)``: route one session's reads so it sees its own writes.

    >>> from highload.replication import SimulatedReplicaSet
    >>> rs = SimulatedReplicaSet(lags=[1.0])
    >>> router = SessionRouter(rs.primary, rs.replicas)
    >>> router.write("alice", "name", "Alice")
    1
    >>> router.read("alice", "name"), router.stats       # the replica is behind: primary serves
    ('Alice', {'primary_reads': 1, 'replica_reads': 0})
    """

    def __init__(self, primary, replicas) -> None:
        if not isinstance(replicas, (list, tuple)):
            raise TypeError(f"replicas must be a list or tuple, got {type(replicas).__name__}")
        self.primary = primary
        self.replicas = list(replicas)
        self._tokens: dict[Hashable, int] = {}
        self._cursor = 0
        self.stats = {"primary_reads": 0, "replica_reads": 0}

    def token(self, session: Hashable) -> int:
        return self._tokens.get(session, 0)

    def set_token(self, session: Hashable, lsn: int) -> None:
        """Seed a session's token (e.g. from the client's cookie); a token never goes down."""
        self._tokens[session] = max(self.token(session), lsn)

    def write(self, session: Hashable, key, value) -> int:
        lsn = self.primary.write(key, value)
        self.set_token(session, lsn)
        return lsn

    def read(self, session: Hashable, key) -> Any:
        need = self.token(session)
        n = len(self.replicas)
        start = self._cursor
        self._cursor += 1
        for i in range(n):
            replica = self.replicas[(start + i) % n]
            # Read the position once: the value checked is the value the token learns.
            applied = replica.applied_lsn
            if applied >= need:
                value = replica.read(key)
                self.stats["replica_reads"] += 1
                self.set_token(session, applied)
                return value
        value = self.primary.read(key)
        self.stats["primary_reads"] += 1
        self.set_token(session, self.primary.lsn)
        return value
