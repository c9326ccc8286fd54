"""Shared fixtures: a private redis-server, and the backends every contract test runs against.

The suite never touches the user's data: it starts its own redis-server on a free loopback
port (when one is installed) and stops it by process group, and it ignores REDIS_URL.
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


@pytest.fixture(params=["fakeredis", "redis-server"])
def redis_client(request):
    """A sync client on fakeredis (always) and on the private real redis-server (when installed)."""
    if request.param == "fakeredis":
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield client
    client.close()


@pytest.fixture(params=["fakeredis", "redis-server"])
def async_redis_client(request):
    if request.param == "fakeredis":
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    import redis.asyncio

    return redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))


@pytest.fixture
def unique_key():
    return f"test:{uuid.uuid4().hex}"
