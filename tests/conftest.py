"""Shared fixtures: a private redis-server, a private Redis Cluster, and the backends every
contract test runs against.

The suite never touches the user's data: it starts its own redis-server on a free loopback
port (when one is installed) and stops it by process group, and it ignores REDIS_URL. The
Redis Cluster (3 masters, one replica each) is started once per session, and only when the
first test that needs it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import fakeredis
import pytest
import redis

from highload.processes import free_port, kill_group, spawn, wait_until
from highload.redis_client import answers

REDIS_MISSING = "redis-server is not installed (apt-get install redis-server): real-Redis tests skipped"
#: Every Redis client the contract tests run on: embedded, one real server, a real cluster.
REDIS_TARGETS = ["fakeredis", "redis-server", "redis-cluster"]


def pytest_configure(config):
    # Lessons and tests must never write to a database the user pointed REDIS_URL at.
    os.environ.pop("REDIS_URL", None)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test` runs two workers), tests spread one by one, except those
    that share a module-scoped server (a JupyterLab, a batch autograde run): those stay together
    on one worker, so the server starts once."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        if fixtures is None:
            continue
        if any(d.scope == "module" for defs in fixtures.name2fixturedefs.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.path.name))


@pytest.fixture(scope="session")
def redis_url():
    """URL of a private redis-server for this test session, or a skip saying why there is none."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip(REDIS_MISSING)
    port = free_port()
    proc = spawn([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        if not wait_until(lambda: answers(url, timeout=0.5), 10, process=proc):
            raise RuntimeError("private redis-server did not answer PING")
        yield url
    finally:
        kill_group(proc)


@pytest.fixture(scope="session")
def redis_cluster():
    """A real Redis Cluster for this test session (3 masters + 1 replica each, so failover can be
    shown), a :class:`highload.sharding.cluster.LocalCluster`; stopped when the session ends."""
    from highload.sharding.cluster import INSTALL_HINT, LocalCluster

    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip(INSTALL_HINT)
    cluster = LocalCluster(masters=3, replicas=1).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _async_nodes(cluster):
    from redis.asyncio.cluster import ClusterNode

    return [ClusterNode("127.0.0.1", n.port) for n in cluster.masters()]


@pytest.fixture(params=REDIS_TARGETS)
def redis_client(request):
    """A sync client on fakeredis (always), on the private real redis-server and on the private
    Redis Cluster (redis-py's ``RedisCluster``), the last two when redis-server is installed."""
    if request.param == "fakeredis":
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    elif request.param == "redis-cluster":
        client = request.getfixturevalue("redis_cluster").client(decode_responses=False)
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield client
    client.close()


@pytest.fixture(params=REDIS_TARGETS)
def async_redis_client(request):
    if request.param == "fakeredis":
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    if request.param == "redis-cluster":
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster(startup_nodes=_async_nodes(request.getfixturevalue("redis_cluster")),
                            socket_connect_timeout=2, socket_timeout=5)
    import redis.asyncio

    return redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))


@pytest.fixture
def unique_key():
    return f"test:{uuid.uuid4().hex}"
