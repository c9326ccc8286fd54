"""ReadRouter and its policies, and the exercise's SessionRouter, on the simulated replica set."""

from __future__ import annotations

import pytest

from highload.replication import (
    AnyReplica,
    BoundedStaleness,
    PrimaryOnly,
    ReadRouter,
    SessionRouter,
    SessionToken,
    SimulatedReplicaSet,
    TimePinning,
)


def save_then_reload(policy, lags=(1.0, 1.0), after=0.5):
    rs = SimulatedReplicaSet(lags=list(lags))
    router = ReadRouter(rs, policy=policy)
    router.write("alice", "profile", "new")
    rs.clock.advance(after)
    return router, router.read_detail("alice", "profile")


def test_primary_only_is_never_stale_and_never_uses_a_replica():
    router, (value, target, stale) = save_then_reload(PrimaryOnly())
    assert (value, target, stale) == ("new", "primary", False)
    assert router.replica_share == 0


def test_any_replica_shows_the_read_your_writes_bug():
    router, (value, target, stale) = save_then_reload(AnyReplica())
    assert value is None and target == "replica1" and stale
    assert router.stats["stale_reads"] == 1


def test_any_replica_is_round_robin():
    rs = SimulatedReplicaSet(lags=[0, 0, 0])
    router = ReadRouter(rs, policy=AnyReplica())
    targets = [router.read_detail("s", "k")[1] for _ in range(4)]
    assert targets == ["replica1", "replica2", "replica3", "replica1"]


def test_session_token_reads_its_write_from_the_primary_until_a_replica_catches_up():
    router, (value, target, stale) = save_then_reload(SessionToken())
    assert (value, target, stale) == ("new", "primary", False)
    assert router.stats["primary_fallbacks"] == 1
    router.clock.advance(0.5)
    assert router.read_detail("alice", "profile")[1:] == ("replica2", False)


def test_session_token_other_sessions_still_use_replicas():
    rs = SimulatedReplicaSet(lags=[1.0])
    router = ReadRouter(rs, policy=SessionToken())
    router.write("alice", "profile", "new")
    assert router.read_detail("bob", "profile")[1] == "replica1"


def test_session_token_waits_up_to_max_wait_on_the_clock():
    router, (value, target, stale) = save_then_reload(SessionToken(max_wait=0.75, poll=0.125), after=0.25)
    assert (value, target, stale) == ("new", "replica1", False)
    assert router.stats["waits"] == 1 and router.clock() == 1.0
    _, (value, target, _) = save_then_reload(SessionToken(max_wait=0.5, poll=0.125), after=0.25)
    assert target == "primary", "after max_wait the primary serves"


def test_monotonic_reads_a_session_never_goes_back_in_time():
    rs = SimulatedReplicaSet(lags=[0.0, 5.0])
    router = ReadRouter(rs, policy=SessionToken())
    rs.primary.write("likes", 10)
    assert router.read_detail("s", "likes")[:2] == (10, "replica1")
    # replica2 is behind what the session has seen: it must be skipped
    assert router.read_detail("s", "likes")[:2] == (10, "replica1")
    naive = ReadRouter(rs, policy=AnyReplica())
    naive.read("t", "likes")
    assert naive.read_detail("t", "likes")[:3] == (None, "replica2", True), "eventual reads go back in time"


def test_time_pinning_is_stale_once_lag_exceeds_the_pin():
    router, (_, target, _) = save_then_reload(TimePinning(pin=2.0), lags=(1.0,), after=0.5)
    assert target == "primary"
    router, (value, target, stale) = save_then_reload(TimePinning(pin=0.25), lags=(1.0,), after=0.5)
    assert (value, target, stale) == (None, "replica1", True)


def test_bounded_staleness_by_seconds_and_by_positions():
    rs = SimulatedReplicaSet(lags=[2.0, 0.5])
    router = ReadRouter(rs, policy=BoundedStaleness(max_seconds=1.0))
    rs.primary.write("k", 1)
    rs.clock.advance(1.5)
    assert router.read_detail("s", "k")[1] == "replica2"
    by_lsn = ReadRouter(rs, policy=BoundedStaleness(max_behind=0))
    rs.primary.write("k", 2)
    assert by_lsn.read_detail("s", "k")[1] == "primary"
    assert by_lsn.stats["primary_fallbacks"] == 1
    with pytest.raises(ValueError, match="max_seconds or max_behind"):
        BoundedStaleness()


def test_tokens_travel_with_the_client_and_never_go_down():
    rs = SimulatedReplicaSet(lags=[1.0])
    a, b = ReadRouter(rs), ReadRouter(rs)          # two app instances behind a balancer
    token = a.write("alice", "profile", "new")
    b.set_token("alice", token)
    assert b.read_detail("alice", "profile")[:2] == ("new", "primary")
    b.set_token("alice", 0)
    assert b.token("alice") == token


def test_forget_drops_a_session_and_leaves_the_others():
    rs = SimulatedReplicaSet(lags=[1.0])
    router = ReadRouter(rs)
    token = router.write("alice", "profile", "new")
    router.set_token("bob", 7)
    router.forget("alice")
    router.forget("nobody")
    assert router.token("alice") == 0 and router.token("bob") == 7 and token > 0


def test_events_and_counters():
    rs = SimulatedReplicaSet(lags=[1.0])
    router = ReadRouter(rs, policy=AnyReplica())
    seen = []
    router.subscribe(lambda e: seen.append(e.kind))
    router.write("s", "k", 1)
    router.read("s", "k")
    assert seen == ["write", "read", "stale"]
    assert router.stats == {"primary_reads": 0, "replica_reads": 1, "primary_fallbacks": 0,
                            "waits": 0, "stale_reads": 1, "writes": 1}
    assert router.reads_by_target == {"replica1": 1}


def test_counts_from_many_threads_add_up():
    import threading

    rs = SimulatedReplicaSet(lags=[0.0, 0.0])
    router = ReadRouter(rs, policy=SessionToken())
    router.write("w", "k", 1)

    def reads(session):
        for _ in range(300):
            router.read(session, "k")

    threads = [threading.Thread(target=reads, args=(f"s{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert router.stats["replica_reads"] == 1200 and router.stats["writes"] == 1
    assert sum(router.reads_by_target.values()) == 1200


def test_counts_of_ended_threads_are_kept_and_folded():
    import threading

    rs = SimulatedReplicaSet(lags=[0.0])
    router = ReadRouter(rs, policy=AnyReplica())
    for _ in range(50):                               # a thread per request, as some servers do
        t = threading.Thread(target=lambda: [router.read("s", "k") for _i in range(3)])
        t.start()
        t.join()
    router.read("s", "k")
    assert router.stats["replica_reads"] == 151 and router.reads_by_target == {"replica1": 151}
    assert len(router._tallies) <= 2, "one tally per live thread, not per thread ever run"


def test_a_read_that_finds_a_caught_up_replica_has_not_waited():
    ticks = iter(range(1, 10_000))
    rs = SimulatedReplicaSet(lags=[0.0])
    router = ReadRouter(rs, policy=SessionToken(max_wait=5), clock=lambda: float(next(ticks)))
    router.read("s", "k")
    assert router.stats["waits"] == 0, "a moving clock is no reason to count a wait"


def test_the_policy_can_be_swapped_and_is_checked():
    rs = SimulatedReplicaSet(lags=[0.0])
    router = ReadRouter(rs, policy=AnyReplica())
    router.policy = PrimaryOnly()
    assert router.read_detail("s", "k")[1] == "primary"
    with pytest.raises(TypeError, match="policy"):
        router.policy = "primary"


def test_router_follows_the_set_after_failover():
    rs = SimulatedReplicaSet(lags=[0.0, 0.0])
    router = ReadRouter(rs, policy=PrimaryOnly())
    router.write("s", "k", 1)
    rs.promote(1)
    assert router.read_detail("s", "k")[:2] == (1, "replica2")


def test_bad_arguments_are_refused():
    rs = SimulatedReplicaSet(lags=[0.0])
    with pytest.raises(TypeError, match="replicas"):
        ReadRouter(rs.primary, iter(rs.replicas))
    with pytest.raises(TypeError, match="policy"):
        ReadRouter(rs, policy="token")
    with pytest.raises(ValueError, match="max_wait"):
        SessionToken(max_wait=-1)


# -- the exercise's router ----------------------------------------------------------------------
def test_session_router_matches_read_router_with_session_token():
    rs = SimulatedReplicaSet(lags=[0.25, 0.75, 1.5])
    exercise = SessionRouter(rs.primary, rs.replicas)
    reference = ReadRouter(rs, policy=SessionToken(), detect_stale=False)
    for step in range(40):
        session = f"s{step % 3}"
        if step % 4 == 0:
            exercise.write(session, "k", step)
            reference.set_token(session, exercise.token(session))
            reference._sessions[session].last_write_at = rs.clock()
        assert exercise.read(session, "k") == reference.read(session, "k")
        assert exercise.token(session) == reference.token(session)
        rs.clock.advance(0.125)
    s = reference.stats
    assert exercise.stats == {"primary_reads": s["primary_reads"], "replica_reads": s["replica_reads"]}


def test_session_router_with_no_replicas_reads_the_primary():
    rs = SimulatedReplicaSet(lags=[])
    router = SessionRouter(rs.primary, ())
    router.write("s", "k", 1)
    assert router.read("s", "k") == 1 and router.stats == {"primary_reads": 1, "replica_reads": 0}
    with pytest.raises(TypeError):
        SessionRouter(rs.primary, None)


def test_read_your_writes_only_token_does_not_chase_the_primary_head():
    rs = SimulatedReplicaSet(lags=[1.0])
    strict = ReadRouter(rs, policy=SessionToken())
    ryw = ReadRouter(rs, policy=SessionToken(monotonic=False))
    rs.primary.write("other", 1)                      # another session's write, not yet applied
    assert strict.read_detail("s", "k")[1] == "replica1"
    strict.write("s", "k", "mine")
    ryw.set_token("s", strict.token("s"))
    rs.clock.advance(1.0)                             # the replica now has "mine"
    rs.primary.write("other", 2)
    assert ryw.read_detail("s", "k")[:2] == ("mine", "replica1")
    assert ryw.token("s") == 2, "read-your-writes only: the token stays at the session's write"
