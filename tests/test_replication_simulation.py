"""The simulated replica set: lag, pause/resume, cut/promote, on a ManualClock."""

from __future__ import annotations

import pytest

from highload.replication import ReplicaSet, SimulatedReplicaSet


def test_is_a_replica_set_and_says_it_is_a_simulation():
    rs = SimulatedReplicaSet(lags=[0.5])
    assert isinstance(rs, ReplicaSet)
    assert "simulated" in rs.describe() and "not a real database" in rs.describe()


def test_a_write_reaches_a_replica_exactly_after_its_lag():
    rs = SimulatedReplicaSet(lags=[0.5, 2.0])
    lsn = rs.primary.write("k", "v")
    assert lsn == 1 and rs.primary.lsn == 1 and rs.primary.read("k") == "v"
    rs.clock.advance(0.25)
    assert [r.applied_lsn for r in rs.replicas] == [0, 0]
    assert rs.replicas[0].read("k") is None and rs.replicas[0].staleness() == 0.25
    rs.clock.advance(0.25)
    assert rs.replicas[0].read("k") == "v" and rs.replicas[0].applied_lsn == 1
    assert rs.replicas[1].applied_lsn == 0
    rs.clock.advance(1.5)
    assert rs.replicas[1].read("k") == "v" and rs.replicas[1].staleness() == 0


def test_replay_stays_in_log_order_when_lag_shrinks():
    rs = SimulatedReplicaSet(lags=[2.0])
    rs.primary.write("a", 1)
    rs.set_lag(0, 0.0)
    rs.primary.write("b", 2)
    assert rs.replicas[0].applied_lsn == 0, "entry 2 must not be applied before entry 1"
    rs.clock.advance(2)
    assert rs.replicas[0].applied_lsn == 2


def test_sampled_lag_is_reproducible_from_the_seed():
    def run(seed):
        rs = SimulatedReplicaSet(lags=[lambda rng: rng.uniform(0, 1)] * 2, seed=seed)
        seen = []
        for i in range(20):
            rs.primary.write(f"k{i}", i)
            rs.clock.advance(0.1)
            seen.append(tuple(r.applied_lsn for r in rs.replicas))
        return seen

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_pause_freezes_replay_and_resume_catches_up():
    rs = SimulatedReplicaSet(lags=[0.0])
    rs.primary.write("k", 1)
    rs.pause(0)
    rs.primary.write("k", 2)
    rs.clock.advance(10)
    assert rs.replicas[0].read("k") == 1 and rs.replicas[0].received_lsn == 2
    rs.resume(0)
    assert rs.replicas[0].read("k") == 2


def test_promoting_a_merely_delayed_replica_loses_nothing():
    rs = SimulatedReplicaSet(lags=[5.0, 5.0])
    for i in range(3):
        rs.primary.write(f"k{i}", i)
    result = rs.promote(0)
    assert result.lost == 0 and result.promoted == "replica1"
    assert rs.primary.name == "replica1" and rs.primary.read("k2") == 2


def test_promoting_a_cut_replica_loses_exactly_what_it_never_received():
    rs = SimulatedReplicaSet(lags=[0.0, 0.0])
    rs.primary.write("a", 1)
    rs.cut(0)
    rs.primary.write("b", 2)
    rs.primary.write("c", 3)
    assert rs.replicas[0].read("b") is None, "a cut replica still serves, stale"
    result = rs.promote(0)
    assert (result.lost, result.received_lsn, result.lost_keys) == (2, 1, ("b", "c"))
    assert rs.primary.read("a") == 1 and rs.primary.read("b") is None
    assert len(rs.replicas) == 1 and rs.replicas[0].read("b") is None, "the follower follows the new primary"
    assert rs.primary.write("d", 4) == 2


def test_bad_lag_is_refused_with_its_name():
    with pytest.raises(ValueError, match="lag"):
        SimulatedReplicaSet(lags=[-1])
    with pytest.raises(TypeError, match="lags"):
        SimulatedReplicaSet(lags=0.5)


def test_a_healed_replica_receives_what_it_missed():
    rs = SimulatedReplicaSet(lags=[0.0])
    rs.cut(0)
    rs.primary.write("a", 1)
    rs.heal(0)
    rs.primary.write("b", 2)
    assert rs.replicas[0].read("a") == 1 and rs.replicas[0].applied_lsn == 2
