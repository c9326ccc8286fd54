"""The near-cache on a real Redis Cluster (conftest's session-wide ``redis_cluster``).

The cache contract, the Redis backend (single-flight lock included) and near-cache coherence
also run there through the "redis-cluster" params of ``target`` and ``redis_client``. Here:
``drain()``'s guarantee when writes publish on other nodes than our subscriber's, and what a
dead master means to the cache and the rate limiter.
"""

from __future__ import annotations

import shutil
import time
import uuid

import pytest

from highload.cache import CacheAside, NearCache, RedisBackend
from highload.clock import ManualClock
from highload.outages import CAUGHT, OUTAGE, classify
from highload.ratelimit import RateLimiter, RedisStorage, TokenBucketPolicy
from highload.sharding.cluster import LocalCluster
from highload.sharding.slots import key_slot

pytestmark = pytest.mark.redis


@pytest.fixture
def near_pair(redis_cluster):
    client = redis_cluster.client(decode_responses=False)
    prefix = f"test:near:{uuid.uuid4().hex}:"
    store: dict = {}
    caches = [NearCache(store.get, 60, backend=RedisBackend(client, prefix=prefix), clock=ManualClock(),
                        store=store, poll_on_read=False, name="t") for _ in range(2)]
    yield store, caches
    for cache in caches:
        cache.close()
    client.close()


def _one_key_per_master(cluster, backend) -> list[str]:
    owners: dict[int, str] = {}
    for i in range(1000):
        key = f"k{i}"
        owners.setdefault(cluster.owner(key_slot(backend.entry_key(key))).port, key)
        if len(owners) == len(cluster.masters()):
            return list(owners.values())
    raise AssertionError("no key found for some master")


def _publishes(cluster) -> dict[int, int]:
    counts = {}
    for node in cluster.masters():
        with node.connection() as r:
            counts[node.port] = r.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)
    return counts


def test_writes_on_every_master_are_applied_when_drain_returns(near_pair, redis_cluster):
    store, (a, b) = near_pair
    keys = _one_key_per_master(redis_cluster, b.backend)
    for key in keys:
        store[key] = "old"
        assert b.get(key) == "old"
    for key in keys:
        a.write(key, "new")
    assert b.drain() == len(keys), "every node's invalidation, wherever our subscriber listens"
    assert all(b.local.peek(key) is None for key in keys)
    assert [b.get(key) for key in keys] == ["new"] * len(keys)


def test_drain_on_a_cluster_waits_for_a_marker_from_every_primary(near_pair, redis_cluster):
    # One PING answers only for the subscriber's own node; a marker published on each primary
    # follows that node's earlier messages over its cluster-bus link.
    _, (a, b) = near_pair
    b.start()
    before = _publishes(redis_cluster)
    assert b.drain() == 0
    after = _publishes(redis_cluster)
    assert {port: after[port] - before[port] for port in after} == {port: 1 for port in after}


def test_another_near_caches_markers_are_not_invalidations(near_pair):
    store, (a, b) = near_pair
    store["k"] = "v"
    b.get("k")
    a.drain()
    a.drain()
    assert b.drain() == 0
    assert b.local.peek("k").value == "v"
    assert b.counters["invalidations"] == 0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_dead_master_is_an_outage_the_cache_fails_open_on_and_the_limiter_reports():
    # A private cluster (the session's must keep its masters): kill one master without a replica.
    # Its slots refuse connections; once the other masters agree it has failed, the whole
    # cluster answers CLUSTERDOWN. Every error either brings is an outage, never a bug.
    with LocalCluster(masters=3, node_timeout_ms=1000) as cluster:
        client = cluster.client(decode_responses=False, socket_timeout=1, socket_connect_timeout=0.5)
        limiter = RateLimiter(TokenBucketPolicy(100, 10), RedisStorage(client), clock=ManualClock(), prefix="rl:")
        cache = CacheAside(lambda key: f"loaded {key}", 60, backend=RedisBackend(client), clock=ManualClock(),
                           name="t")
        victim = cluster.masters()[0]

        def on(node, pattern, name=lambda k: "rl:" + k):
            return next(k for k in (pattern.format(i) for i in range(1000))
                        if (cluster.owner(key_slot(name(k))).port == node.port) is (node is victim))

        dead, live = on(victim, "k{}"), on(cluster.masters()[1], "k{}")
        cached = on(victim, "c{}", cache.backend.entry_key)
        assert limiter.allow(dead) and limiter.allow(live) and cache.get(cached) == f"loaded {cached}"
        cluster.kill(victim)
        kinds: set[str] = set()
        # Watch until CLUSTERDOWN shows (or a bound passes: how soon depends on gossip, not on us).
        deadline = time.monotonic() + 20
        while "ClusterDownError" not in kinds and time.monotonic() < deadline:
            assert cache.get(cached) == f"loaded {cached}", "reads fail open to the loader"
            for key in (dead, live):
                try:
                    limiter.allow(key)
                except CAUGHT as exc:
                    assert classify(exc) == OUTAGE, exc
                    kinds.add(type(exc).__name__)
        assert "ConnectionError" in kinds, kinds
        assert cache.counters["backend_errors"] > 0
        client.close()
