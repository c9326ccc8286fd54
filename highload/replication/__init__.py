"""Lesson 04: replication, consistency and read routing.

A primary takes every write; replicas apply its log a little later (*replication lag*) and
serve reads. :class:`ReadRouter` decides where each read goes, by a policy; the one that is
right, :class:`SessionToken`, routes by log position so a session always sees its own writes.

* :class:`SimulatedReplicaSet`: in-process, on a ManualClock (the embedded fallback).
* :mod:`highload.replication.postgres`: a real Postgres primary with streaming replicas
  (extra ``pg``; imported on demand, so the core stays light).
* :mod:`highload.replication.redis_replicas`: a real Redis primary with replicas (``WAIT``,
  ``min-replicas-to-write``, lost writes on failover; Redis stays AP). Imported on demand.
* :mod:`highload.replication.fastapi`: ``SessionLSN``, the FastAPI dependency that carries a
  session's token in an ``X-Session-LSN`` header or a cookie (extra ``web``).
* :class:`SessionRouter`: the exercise's router (hidden suite ``read_your_writes``).
"""

from .base import Failover, Primary, Replica, ReplicaSet, int_to_lsn, lsn_to_int
from .policies import (
    AnyReplica,
    BoundedStaleness,
    Choice,
    Policy,
    PrimaryOnly,
    SessionToken,
    TimePinning,
)
from .router import COUNTERS, ReadRouter
from .session import SessionRouter
from .simulation import SimulatedPrimary, SimulatedReplica, SimulatedReplicaSet

__all__ = [
    "Primary", "Replica", "ReplicaSet", "Failover", "lsn_to_int", "int_to_lsn",
    "Policy", "Choice", "PrimaryOnly", "AnyReplica", "SessionToken", "BoundedStaleness", "TimePinning",
    "ReadRouter", "COUNTERS", "SessionRouter",
    "SimulatedPrimary", "SimulatedReplica", "SimulatedReplicaSet",
]
