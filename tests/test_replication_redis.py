"""Real Redis replication (lesson 04's short demo): positions, WAIT, min-replicas-to-write, and a
cut replica that loses the writes made after the cut when it is promoted.

Every set is a private redis-server primary + replicas on loopback ports, stopped in a
finalizer. Nothing sleeps: conditions are polled with a bounded wait, and WAIT's own timeout is
the server's.
"""

from __future__ import annotations

import os
import shutil
import signal

import pytest
import redis

from highload.processes import wait_until
from highload.replication import ReadRouter, SessionToken, redis_replicas
from highload.replication.redis_replicas import MAX_WAIT, RedisReplicaSet, available
from tests.conftest import REDIS_MISSING

pytestmark = pytest.mark.redis
needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None, reason=REDIS_MISSING)


def _replica_set(replicas: int):
    if available():
        pytest.skip(REDIS_MISSING)
    rs = RedisReplicaSet(replicas=replicas)
    yield rs
    rs.close()


@pytest.fixture
def pair():
    yield from _replica_set(1)


@pytest.fixture
def trio():
    yield from _replica_set(2)


def test_without_redis_server_it_says_what_to_install(monkeypatch):
    monkeypatch.setattr(redis_replicas.shutil, "which", lambda name: None)
    assert "apt-get install redis-server" in redis_replicas.available()
    with pytest.raises(RuntimeError, match="redis-server"):
        RedisReplicaSet(replicas=1)


def test_a_set_needs_at_least_one_replica():
    with pytest.raises(ValueError, match="replicas"):
        RedisReplicaSet(replicas=0)


def test_available_and_describe(pair):
    assert available() is None
    assert pair.describe().startswith("real Redis ") and "1 replicas" in pair.describe()


def test_replicas_apply_the_primary_stream_and_positions_agree(trio):
    offset = trio.primary.write("profile:1", "v2")
    assert offset <= trio.primary.lsn
    # WAIT returning 2 means both replicas have this write: no polling needed after it.
    assert trio.primary.wait(2, timeout=5) == 2
    assert all(r.applied_lsn >= offset for r in trio.replicas)
    assert [r.read("profile:1") for r in trio.replicas] == ["v2", "v2"]
    pos = trio.positions()
    assert pos.primary >= offset and set(pos.applied) == {"replica1", "replica2"}
    assert {link.name for link in pos.links} == {"replica1", "replica2"}
    assert all(link.state == "online" for link in pos.links)


def test_wait_returns_how_many_replicas_acknowledged(trio):
    trio.primary.write("k", "1")
    assert trio.primary.wait(2, timeout=5) == 2
    trio.cut("replica2")
    trio.primary.write("k", "2")
    # Only replica1 can acknowledge: WAIT gives up after its timeout and says 1.
    assert trio.primary.wait(2, timeout=0.2) == 1


def test_wait_counts_only_replicas_that_have_this_write(pair):
    pair.primary.write("k", "1")
    assert pair.primary.wait(1, timeout=5) == 1
    replica = pair.replica(0)
    # A replica that is alive and linked but stopped cannot acknowledge the next write: WAIT
    # must say 0 (a WAIT sent on a connection that never wrote would count it at once).
    os.kill(replica.process.pid, signal.SIGSTOP)
    try:
        offset = pair.primary.write("k", "2")
        assert pair.primary.wait(1, timeout=0.2) == 0
    finally:
        os.kill(replica.process.pid, signal.SIGCONT)
    assert pair.primary.wait(1, timeout=5) == 1
    assert replica.applied_lsn >= offset and replica.read("k") == "2"


def test_wait_refuses_a_timeout_it_cannot_honour(pair):
    with pytest.raises(ValueError, match="timeout"):
        pair.primary.wait(1, timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        pair.primary.wait(1, timeout=MAX_WAIT + 1)
    with pytest.raises(ValueError, match="replicas"):
        pair.primary.wait(-1, timeout=1)


def test_min_replicas_to_write_refuses_writes_when_the_replica_is_cut(pair):
    pair.require_replicas(1, max_lag=10)
    pair.primary.write("before", "ok")                    # one good replica: accepted
    pair.cut(0)
    with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
        pair.primary.write("after", "refused")
    assert pair.primary.read("after") is None
    pair.heal(0)
    pair.primary.write("healed", "ok")                    # the replica is back: accepted again
    pair.require_replicas(0)


def test_require_replicas_validates(pair):
    with pytest.raises(ValueError, match="count"):
        pair.require_replicas(-1)
    with pytest.raises(ValueError, match="max_lag"):
        pair.require_replicas(1, max_lag=0)


def test_a_cut_replica_serves_stale_reads_and_refuses_writes(pair):
    pair.primary.write("likes", "9")
    assert pair.primary.wait(1, timeout=5) == 1
    pair.cut("replica1")
    pair.primary.write("likes", "10")                     # async: the primary stays available (AP)
    replica = pair.replica("replica1")
    assert replica.read("likes") == "9"
    assert replica.staleness() >= 0 and not replica.link_up()
    with pytest.raises(redis.ResponseError, match="read only"):
        replica.client.set("likes", "11")


def test_promoting_a_cut_replica_loses_exactly_the_writes_after_the_cut(trio):
    for i in range(3):
        trio.primary.write(f"order:{i}", "paid")
    assert trio.primary.wait(2, timeout=5) == 2
    trio.cut("replica2")
    for i in range(3, 8):
        trio.primary.write(f"order:{i}", "paid")
    result = trio.promote("replica2")
    assert (result.promoted, result.lost) == ("replica2", 5)
    assert result.lost_keys == tuple(f"order:{i}" for i in range(3, 8))
    new = trio.primary
    assert new.name == "replica2"
    assert [new.read(f"order:{i}") for i in range(8)] == ["paid"] * 3 + [None] * 5
    # The remaining replica now follows the new primary, and the new primary takes writes.
    offset = new.write("order:8", "paid")
    assert wait_until(lambda: trio.replica("replica1").applied_lsn >= offset, 10)
    assert trio.replica("replica1").read("order:8") == "paid"


def test_promoting_a_caught_up_replica_loses_nothing(pair):
    for i in range(3):
        pair.primary.write(f"order:{i}", "paid")
    assert pair.primary.wait(1, timeout=5) == 1
    result = pair.promote(0)
    assert result.lost == 0
    assert [pair.primary.read(f"order:{i}") for i in range(3)] == ["paid"] * 3


def test_session_tokens_route_reads_on_redis_replicas_too(pair):
    router = ReadRouter(pair, policy=SessionToken())
    router.write("alice", "bio", "v2")
    assert router.read("alice", "bio") == "v2"
    assert router.stats["stale_reads"] == 0


@needs_redis_server
def test_close_stops_every_process_it_started():
    rs = RedisReplicaSet(replicas=2)
    processes = [n.process for n in (rs.primary, *rs.replicas)]
    base = rs.base
    rs.close()
    assert all(p.poll() is not None for p in processes)
    assert not base.exists()
    rs.close()                                             # twice is fine
