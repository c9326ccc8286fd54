"""The near-cache on a real Redis Cluster (conftest's session-wide ``redis_cluster``).

The cache contract, the Redis backend (single-flight lock included) and near-cache coherence
also run there through the "redis-cluster" params of ``target`` and ``redis_client``. Here:
``drain()``'s guarantee when writes publish on other nodes than our subscriber's.
"""

from __future__ import annotations

import uuid

import pytest

from highload.cache import NearCache, RedisBackend
from highload.clock import ManualClock
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
