"""SessionToken(remember_positions=True): a position a replica reported earlier stands in for
asking again, while it covers the token; a failover forgets them all."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from highload.replication import ReadRouter, SessionToken, SimulatedReplicaSet
from tests.asked_replica import AskedReplica


def _workload(policy, seed: int = 7):
    rs = SimulatedReplicaSet(lags=[0.2, 0.6], seed=seed)
    replicas = [AskedReplica(r) for r in rs.replicas]
    router = ReadRouter(rs.primary, replicas, policy=policy, clock=rs.clock)
    rng = random.Random(seed)
    last: dict[str, int] = {}
    stale = 0
    for step in range(3000):
        session = f"s{rng.randrange(20)}"
        if rng.randrange(11) == 0:
            last[session] = step
            router.write(session, session, step)
        elif router.read(session, session) != last.get(session):
            stale += 1
        rs.clock.advance(rng.uniform(0, 0.02))
    return router, stale, sum(r.asked for r in replicas)


def test_remembering_positions_asks_far_less_and_is_never_stale():
    asking, stale_asking, asked_asking = _workload(SessionToken(monotonic=False))
    remembering, stale_remembering, asked_remembering = _workload(
        SessionToken(monotonic=False, remember_positions=True))
    assert stale_asking == stale_remembering == 0
    assert asked_remembering < asked_asking / 3, (asked_remembering, asked_asking)
    # Only reads whose token is past every remembered position ask again; the share of reads
    # on replicas does not drop (a remembered position is asked again before giving up on it).
    assert remembering.replica_share >= asking.replica_share - 0.01


def test_a_token_past_the_remembered_position_asks_again():
    rs = SimulatedReplicaSet(lags=[1.0])
    replica = AskedReplica(rs.replicas[0])
    router = ReadRouter(rs.primary, [replica], policy=SessionToken(monotonic=False, remember_positions=True),
                        clock=rs.clock)
    assert router.read("bob", "k") is None and replica.asked == 1
    assert router.read("bob", "k") is None and replica.asked == 1        # remembered 0 covers 0
    router.write("alice", "k", "v")
    assert router.read_detail("alice", "k")[:2] == ("v", "primary") and replica.asked == 2
    rs.clock.advance(1.0)
    assert router.read_detail("alice", "k")[:2] == ("v", "replica1") and replica.asked == 3
    assert router.read_detail("alice", "k")[:2] == ("v", "replica1") and replica.asked == 3


def test_a_failover_forgets_the_remembered_positions():
    """Positions belong to one primary's log: after a failover the same numbers name other
    writes, and a position remembered from the old log would pass a read that is stale."""
    rs = SimulatedReplicaSet(lags=[0.0, 0.0])
    router = ReadRouter(rs, policy=SessionToken(monotonic=False, remember_positions=True))
    for i in range(3):
        router.write("setup", f"k{i}", i)
    rs.cut(1)                                   # replica2 stops at position 3
    router.write("setup", "k3", 3)
    router.write("setup", "k4", 4)
    assert router.read_detail("bob", "k4")[:2] == (4, "replica1")     # remembers replica1 at 5
    rs.promote(1)                               # replica2 (at 3) becomes the primary; 2 writes lost
    rs.set_lag(0, 1.0)                          # replica1, rewound to 3, now follows 1 s behind
    assert router.write("alice", "profile", "new") == 4
    value, target, stale = router.read_detail("alice", "profile")
    assert (value, target, stale) == ("new", "replica2", False)      # the new primary serves


def test_a_replaced_replica_is_asked_not_trusted():
    rs = SimulatedReplicaSet(lags=[0.0])
    router = ReadRouter(rs, policy=SessionToken(monotonic=False, remember_positions=True))
    router.write("s", "k", 1)
    assert router.read_detail("s", "k")[:2] == (1, "replica1")
    behind = SimulatedReplicaSet(lags=[0.0]).replicas[0]              # knows nothing of "k"
    rs.replicas[0] = behind                                           # same list, same length
    assert router.read_detail("s", "k")[:2] == (1, "primary")


@dataclass
class Unhashable:
    """A replica type with dataclass equality, so it cannot be a dict key."""

    name: str
    applied_lsn: int
    value: object = None

    def read(self, key):
        return self.value


def test_replicas_need_not_be_hashable():
    rs = SimulatedReplicaSet(lags=[])
    replica = Unhashable("r", 0, "old")
    router = ReadRouter(rs.primary, [replica], policy=SessionToken(monotonic=False, remember_positions=True),
                        clock=rs.clock)
    assert router.read("s", "k") == "old"
    router.write("s", "k", "new")
    assert router.read_detail("s", "k")[:2] == ("new", "primary")
    replica.applied_lsn, replica.value = 1, "new"
    assert router.read_detail("s", "k")[:2] == ("new", "r")


def test_monotonic_reads_cannot_remember_positions():
    with pytest.raises(ValueError, match="monotonic=False"):
        SessionToken(remember_positions=True)
    assert SessionToken(monotonic=False, remember_positions=True).remember_positions
