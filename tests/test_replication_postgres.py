"""The routers and failover on a real Postgres primary with streaming replicas.

One replica set serves the whole module (started once, stopped in its finalizer even on
failure); the failover test starts its own, because promotion ends the old primary.
Real servers run in real time: these tests wait for Postgres, but assert outcomes, never timings.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from highload.processes import wait_until
from tests.asked_replica import AskedReplica

pytest.importorskip("psycopg", reason="the pg extra (psycopg 3) is not installed")
from highload.replication import (  # noqa: E402
    ReadRouter,
    ReplicaSet,
    SessionRouter,
    SessionToken,
    TimePinning,
    postgres,  # noqa: E402
)

SESSIONS = 200
DELAY = 0.5


@pytest.fixture(scope="session")
def pg_set():
    reason = postgres.available()
    if reason:
        pytest.skip(f"{reason}: real-Postgres tests skipped")
    rs = postgres.PostgresReplicaSet(replicas=2)
    try:
        yield rs
    finally:
        rs.close()


def test_is_a_real_replica_set(pg_set):
    assert isinstance(pg_set, ReplicaSet)
    assert pg_set.describe().startswith("real PostgreSQL")
    assert set(pg_set.streaming()) == {"replica1", "replica2"}


def test_positions_are_real_and_lag_is_injected(pg_set):
    pg_set.set_lag(0, 30)
    try:
        lsn = pg_set.primary.write("lag:probe", "new")
        assert pg_set.primary.lsn >= lsn
        assert wait_until(lambda: pg_set.replicas[0].received_lsn >= lsn, 30)
        assert pg_set.replicas[0].applied_lsn < lsn, "a 30 s apply delay must hold the commit back"
        assert pg_set.replicas[0].read("lag:probe") is None
        router = SessionRouter(pg_set.primary, pg_set.replicas[:1])
        router.set_token("s", lsn)
        assert router.read("s", "lag:probe") == "new" and router.stats["primary_reads"] == 1
    finally:
        pg_set.set_lag(0, 0)
    assert pg_set.wait_caught_up()
    assert pg_set.replicas[0].read("lag:probe") == "new"


def test_pause_and_resume_replay(pg_set):
    pg_set.pause(1)
    try:
        lsn = pg_set.primary.write("pause:probe", "x")
        assert wait_until(lambda: pg_set.replicas[1].received_lsn >= lsn, 30), "paused replay still receives"
        assert pg_set.replicas[1].read("pause:probe") is None
    finally:
        pg_set.resume(1)
    assert pg_set.wait_caught_up() and pg_set.replicas[1].read("pause:probe") == "x"


def _save_then_reload(pg_set, policy, tag: str):
    """200 sessions save a profile concurrently, then reload it 250 ms later, concurrently."""
    router = ReadRouter(pg_set, policy=policy, clock=time.monotonic)
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda i: router.write(i, f"profile:{i}", f"{tag}-{i}"), range(SESSIONS)))
        written = time.monotonic()
        wait_until(lambda: time.monotonic() - written >= 0.25, 1)
        values = list(pool.map(lambda i: router.read(i, f"profile:{i}"), range(SESSIONS)))
    stale = sum(v != f"{tag}-{i}" for i, v in enumerate(values))
    return stale, router


def test_read_your_writes_200_sessions_tokens_never_stale_pinning_is(pg_set):
    for i in range(2):
        pg_set.set_lag(i, DELAY)
    try:
        stale, router = _save_then_reload(pg_set, SessionToken(), "token")
        assert stale == 0 and router.stats["stale_reads"] == 0, router.stats
        token_share = router.replica_share
        stale_pinned, pinned = _save_then_reload(pg_set, TimePinning(pin=0.1), "pinned")
        assert stale_pinned > 0, "a 100 ms pin must go stale behind a 500 ms lag"
        assert pinned.stats["stale_reads"] > 0
        print(f"\nreplica share: token {token_share:.2f}, 100 ms pinning {pinned.replica_share:.2f};"
              f" stale: token 0, pinning {stale_pinned}/{SESSIONS}")
    finally:
        for i in range(2):
            pg_set.set_lag(i, 0)
    assert pg_set.wait_caught_up()


def test_remembered_positions_are_never_stale_behind_a_real_delay(pg_set):
    for i in range(2):
        pg_set.set_lag(i, DELAY)
    try:
        policy = SessionToken(monotonic=False, remember_positions=True)
        stale, router = _save_then_reload(pg_set, policy, "remembered")
        assert stale == 0, router.stats
    finally:
        for i in range(2):
            pg_set.set_lag(i, 0)
    assert pg_set.wait_caught_up()


def test_remembered_positions_save_the_position_query_on_postgres(pg_set):
    replica = AskedReplica(pg_set.replicas[0])
    router = ReadRouter(pg_set.primary, [replica], clock=time.monotonic,
                        policy=SessionToken(monotonic=False, remember_positions=True))
    router.write("s", "profile:asked", "v1")
    assert pg_set.wait_caught_up()
    values = [router.read_detail("s", "profile:asked")[:2] for _ in range(20)]
    assert values == [("v1", "replica1")] * 20
    assert replica.asked == 1, "one query; the other 19 reads trust the remembered position"


def test_token_routing_uses_replicas_once_they_catch_up(pg_set):
    router = ReadRouter(pg_set, policy=SessionToken(max_wait=30, poll=0.01), clock=time.monotonic)
    router.write("s", "profile:s", "v1")
    assert router.read("s", "profile:s") == "v1"
    assert router.stats["replica_reads"] == 1 and router.stats["stale_reads"] == 0


def test_synchronous_commit_waits_and_a_client_that_gives_up_sees_an_unknown_outcome(pg_set):
    pg_set.set_synchronous(["replica1"], "on")
    pg_set.pause(0)
    try:
        done = pg_set.primary.try_write("sync:on", "a", timeout=30)
        assert done.status == "committed", "a paused replay still flushes: synchronous_commit=on does not wait for it"
        pg_set.set_synchronous(["replica1"], "remote_apply")
        gave_up = pg_set.primary.try_write("sync:apply", "b", timeout=0.3)
        assert gave_up.status == "unknown", "remote_apply must wait for the paused replay"
        assert pg_set.primary.read("sync:apply") == "b", "the primary committed it locally all the same"
    finally:
        pg_set.set_synchronous(None, "on")
        pg_set.resume(0)
    assert pg_set.primary.try_write("sync:off", "c", timeout=30).status == "committed"
    assert pg_set.wait_caught_up()


def test_failover_cut_replica_loses_exactly_the_commits_it_never_received():
    if postgres.available():
        pytest.skip(postgres.available())
    with postgres.PostgresReplicaSet(replicas=2) as rs:
        for i in range(3):
            rs.primary.write(f"before:{i}", "x")
        assert rs.wait_caught_up()
        rs.set_lag("replica1", 3600)          # delayed: received, not replayed
        rs.cut("replica2")                    # partitioned: receives nothing more
        after = [rs.primary.write(f"after:{i}", "y") for i in range(5)]
        assert wait_until(lambda: rs.replicas[0].received_lsn >= after[-1], 30)
        cut = rs.replica("replica2")
        assert cut.read("after:0") is None and cut.read("before:2") == "x", "a partitioned replica serves stale"
        # What promoting replica2 would lose, checked against its data before anything is promoted:
        assert sum(lsn > cut.received_lsn for lsn in after) == 5
        result = rs.promote("replica1")
        assert (result.promoted, result.lost) == ("replica1", 0), "a delayed replica replays all it received"
        assert rs.primary.read("after:4") == "y"
        assert rs.primary.write("new-primary", "ok") > 0


def test_failover_promoting_the_cut_replica_loses_its_missing_commits():
    if postgres.available():
        pytest.skip(postgres.available())
    with postgres.PostgresReplicaSet(replicas=1) as rs:
        rs.primary.write("before", "x")
        assert rs.wait_caught_up()
        rs.cut(0)
        for i in range(4):
            rs.primary.write(f"after:{i}", "y")
        result = rs.promote(0)
        assert result.lost == 4 and set(result.lost_keys) == {f"after:{i}" for i in range(4)}
        assert rs.primary.read("before") == "x"
        assert all(rs.primary.read(f"after:{i}") is None for i in range(4)), "the lost commits are gone"
