"""A real Redis Cluster on loopback (3 masters + 1 replica each, conftest's session-wide
``redis_cluster``): key slots agree with the server, resharding under writes loses nothing,
failover works."""

from __future__ import annotations

import random
import shutil
import threading

import pytest
import redis
from redis.exceptions import RedisClusterException

from highload.processes import accepts
from highload.sharding.cluster import (
    BUS_OFFSET,
    INSTALL_HINT,
    PORT_RANGE,
    ClusterUnavailable,
    LocalCluster,
    SlotClient,
    cluster_ports,
)
from highload.sharding.slots import key_slot

pytestmark = pytest.mark.redis
NEEDS_REDIS = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
                                 reason=INSTALL_HINT)


@pytest.fixture
def cluster(redis_cluster):
    return redis_cluster


def _keys(count: int) -> list[str]:
    rng = random.Random(16)
    edge = ["", "{", "}", "{}", "{}{x}", "}{x}", "{x}", "{x}}", "{{x}}", "a{b}c{d}", "{user:42}:cart",
            "{user:42}:profile", "user:{42}", "{ }", "é{ü}", "😀", "{😀}rest", "x" * 300, "{a", "a}"]
    alphabet = "ab{}:xyz019é😀"
    generated = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(count - len(edge))]
    return edge + generated


@NEEDS_REDIS
def test_key_slot_equals_cluster_keyslot_for_10000_keys(cluster):
    keys = _keys(10_000)
    with cluster.running()[0].connection() as node:
        pipe = node.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command("CLUSTER", "KEYSLOT", key)
        server = pipe.execute()
    mismatches = [(k, key_slot(k), s) for k, s in zip(keys, server, strict=True) if key_slot(k) != s]
    assert not mismatches, mismatches[:5]


@NEEDS_REDIS
def test_every_slot_is_served_and_hash_tags_share_a_slot(cluster):
    ranges = [r for spans in cluster.slots().values() for r in spans]
    assert sum(b - a + 1 for a, b in ranges) == 16384 and len(cluster.slots()) == 3
    client = cluster.client()
    client.mset({"{user:42}:cart": "3 items", "{user:42}:profile": "Ada"})
    assert client.mget("{user:42}:cart", "{user:42}:profile") == ["3 items", "Ada"]
    assert key_slot("{user:42}:cart") == key_slot("{user:42}:profile") == key_slot("user:42")


@NEEDS_REDIS
def test_cross_slot_operations_are_refused(cluster):
    assert key_slot("user:1") != key_slot("user:2")
    client = cluster.client()
    with pytest.raises(RedisClusterException):  # redis-py refuses before the server sees it
        client.eval("return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)", 2, "user:1", "user:2")
    owner = cluster.owner(key_slot("user:1"))
    with owner.connection() as node, pytest.raises(redis.ResponseError, match="same slot"):
        node.execute_command("DEL", "user:1", "user:2")


@NEEDS_REDIS
def test_resharding_under_writes_loses_nothing(cluster):
    source = cluster.owner(0)
    target = next(m for m in cluster.masters() if m.port != source.port)
    slots = range(0, 100)
    # Keys chosen to land in the moving slots, plus some elsewhere.
    keys = [k for k in (f"order:{i}" for i in range(40_000)) if key_slot(k) < 100][:200] + [f"other:{i}" for i in range(100)]
    writer, errors, written = SlotClient(cluster), [], set()
    for key in keys[:100]:  # half exist before the move, half are created during it
        writer.set(key, key)
        written.add(key)
    done = threading.Event()

    def write():
        i = 0
        while not done.is_set() or i < len(keys):
            key = keys[i % len(keys)]
            try:
                writer.set(key, key)
                written.add(key)
            except redis.RedisError as exc:
                errors.append(exc)
            i += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        moved_keys = cluster.migrate_slots(slots, to=target)
    finally:
        done.set()
        thread.join(60)
    assert not errors, errors[:3]
    assert moved_keys > 0 and cluster.owner(0).port == target.port and cluster.owner(99).port == target.port
    reader = SlotClient(cluster)
    reader._map[:] = writer._map  # noqa: SLF001 - start from the writer's view to count what changed
    stale = SlotClient(cluster)
    stale._map[0:100] = [source.port] * 100  # a client that has not heard of the move yet
    client = cluster.client()
    assert all(client.get(k) == k for k in written), "every written key must be readable after the move"
    assert all(stale.get(k) == k for k in keys[:100])
    assert stale.moved > 0, "a stale client is redirected with MOVED"
    print(f"moved {moved_keys} keys; writer saw MOVED {writer.moved}x, ASK {writer.asked}x")
    # Give the slots back so other tests see the original layout.
    cluster.migrate_slots(slots, to=source)


@NEEDS_REDIS
def test_failover_promotes_the_replica_and_keeps_the_data(cluster):
    client = cluster.client()
    master = cluster.owner(key_slot("failover:key"))
    client.set("failover:key", "kept")
    with master.connection() as r:
        r.execute_command("WAIT", 1, 2000)
    promoted = cluster.failover(master)
    assert promoted.role() == "master" and master.role() == "slave"
    assert cluster.owner(key_slot("failover:key")).port == promoted.port
    assert cluster.client().get("failover:key") == "kept"


@NEEDS_REDIS
def test_stop_ends_exactly_what_start_started():
    small = LocalCluster(masters=3).start()
    nodes = list(small.nodes)
    assert all(accepts("127.0.0.1", n.port) for n in nodes)
    small.stop()
    assert all(n.process.returncode is not None for n in nodes)
    assert not any(accepts("127.0.0.1", n.port) for n in nodes)
    assert small.nodes == [] and not any(n.directory.exists() for n in nodes)


def test_ports_leave_room_for_the_cluster_bus():
    ports = cluster_ports(6, random.Random(5))
    assert len(set(ports)) == 6
    assert all(PORT_RANGE[0] <= p <= PORT_RANGE[1] and p + BUS_OFFSET < 32768 for p in ports)
    assert not set(ports) & {p + BUS_OFFSET for p in ports}


def test_missing_redis_server_says_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ClusterUnavailable, match="apt-get install redis-server"):
        LocalCluster().start()
    with pytest.raises(ValueError):
        LocalCluster(masters=2)


@NEEDS_REDIS
def test_a_port_taken_between_drawing_and_binding_is_drawn_again(monkeypatch):
    # Two clusters starting at once (two test workers) can draw the same free port; the loser's
    # redis-server exits, and another redis-server answering on that port must not pass for it.
    import socket

    import highload.sharding.cluster as cluster_module

    real = cluster_module.cluster_ports
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    draws = []

    def racy(count, rng=None):
        ports = real(count, rng)
        if not draws:
            ports[0] = taken
        draws.append(ports)
        return ports

    monkeypatch.setattr(cluster_module, "cluster_ports", racy)
    try:
        with LocalCluster(masters=3) as cluster:
            assert taken not in {n.port for n in cluster.nodes} and len(cluster.running()) == 3
            assert len(draws) == 2
            with cluster.client() as client:
                client.set("k", "v")
                assert client.get("k") == "v"
    finally:
        holder.close()
