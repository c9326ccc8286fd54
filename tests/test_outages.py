"""One outage table (highload.outages), one test per row: fail open/closed only on outages.

Rows that can be provoked for real run on real redis-servers (WRONGTYPE on a pre-set key,
READONLY on a replica started with --replicaof, OOM on a server with maxmemory 1, a wrong
password, an ACL user without permission, a refused connection, a stalled socket); the
transient cluster/loading rows use fakes that raise redis-py's own exception classes.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import uuid
import warnings

import fakeredis
import pytest
import redis
import redis.asyncio
import redis.exceptions as rx
from fastapi import FastAPI

from highload import outages
from highload.cache import CacheAside, RedisBackend
from highload.clock import ManualClock
from highload.processes import free_port, kill_group, spawn, wait_until
from highload.ratelimit import AsyncRateLimiter, AsyncRedisStorage, FixedWindowPolicy
from highload.ratelimit.fastapi import STORE_ERRORS, RateLimitMiddleware
from highload.redis_client import answers
from highload.testing import StallServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


# ---- the table itself ------------------------------------------------------------------------

ROWS = [
    (rx.ConnectionError("Connection refused"), outages.OUTAGE),
    (ConnectionResetError("reset by peer"), outages.OUTAGE),
    (rx.TimeoutError("Timeout reading from socket"), outages.OUTAGE),
    (rx.BusyLoadingError("Redis is loading the dataset in memory"), outages.OUTAGE),
    (rx.TryAgainError("Multiple keys request during rehashing of slot"), outages.OUTAGE),
    (rx.ClusterDownError("The cluster is down"), outages.OUTAGE),
    (rx.ResponseError("TRYAGAIN Multiple keys request during rehashing"), outages.OUTAGE),
    (rx.AuthenticationError("invalid username-password pair"), outages.MISCONFIGURED),
    (rx.AuthorizationError("not authorized"), outages.MISCONFIGURED),
    (rx.NoPermissionError("this user has no permissions to run the 'evalsha' command"), outages.MISCONFIGURED),
    (rx.ReadOnlyError("You can't write against a read only replica."), outages.OPERATIONAL),
    (rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'"), outages.OPERATIONAL),
    (rx.ResponseError("Error running script (call to f_x): @user_script:1: READONLY You can't write"),
     outages.OPERATIONAL),
    (rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), outages.BUG),
    (rx.ResponseError("Error running script: @user_script:3: user_script:3: attempt to compare nil"), outages.BUG),
    (rx.NoScriptError("No matching script. Please use EVAL."), outages.BUG),
]


@pytest.mark.parametrize(("error", "kind"), ROWS, ids=[f"{type(e).__name__}-{k}" for e, k in ROWS])
def test_each_row_of_the_table_is_classified(error, kind):
    assert outages.classify(error) == kind
    assert outages.is_outage(error) is (kind == outages.OUTAGE)


def test_auth_errors_subclass_connection_error_yet_are_not_outages():
    # The reason for the table: in redis-py 8 `except ConnectionError` would catch these.
    assert issubclass(rx.AuthenticationError, rx.ConnectionError)
    assert not outages.is_outage(rx.AuthenticationError("bad password"))


def test_old_names_are_the_one_table():
    from highload.cache import OUTAGE_ERRORS
    from highload.shop.app import STORE_ERRORS as SHOP_ERRORS

    assert STORE_ERRORS is outages.CAUGHT and SHOP_ERRORS is outages.CAUGHT and OUTAGE_ERRORS is outages.CAUGHT


# ---- real servers for the rows that can be provoked ----------------------------------------------

def _server(*extra):
    # --dir: a replica writes the RDB of its full sync to disk even with --save ""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = spawn([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", tempfile.mkdtemp(prefix="hl-outages-"), *extra],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    if not wait_until(lambda: answers(url, timeout=0.5), 10, process=proc):
        kill_group(proc)
        raise RuntimeError("redis-server did not answer PING")
    return proc, url


@pytest.fixture(scope="module")
def replica_url(redis_url):
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    proc, url = _server("--replicaof", "127.0.0.1", port)
    yield url
    kill_group(proc)


@pytest.fixture(scope="module")
def oom_url():
    proc, url = _server("--maxmemory", "1", "--maxmemory-policy", "noeviction")
    yield url
    kill_group(proc)


def _limiter(client, name=None):
    policy = FixedWindowPolicy(3, 60, name=name or f"t{uuid.uuid4().hex[:8]}")
    return AsyncRateLimiter(policy, AsyncRedisStorage(client), clock=ManualClock(1000))


def _statuses(limiter, fail="open", n=20):
    app = FastAPI()
    app.add_middleware(RateLimitMiddleware, limiter=limiter, fail=fail)

    @app.get("/x")
    def x():
        return {"ok": True}

    client = TestClient(app, raise_server_exceptions=False)
    return [client.get("/x").status_code for _ in range(n)]


def test_wrongtype_is_a_bug_and_never_lets_traffic_through(redis_url):
    limiter = _limiter(redis.asyncio.Redis.from_url(redis_url))
    redis.Redis.from_url(redis_url).set(limiter._view.prefix + "testclient", "not a hash")
    statuses = _statuses(limiter, fail="open")
    assert statuses.count(200) == 0, statuses  # today: 20 of 20 through a limit of 3
    assert set(statuses) == {500}


def test_readonly_replica_raises_instead_of_failing_open(redis_url, replica_url):
    statuses = _statuses(_limiter(redis.asyncio.Redis.from_url(replica_url)), fail="open", n=3)
    assert statuses == [500] * 3


def test_out_of_memory_raises_instead_of_failing_open(oom_url):
    statuses = _statuses(_limiter(redis.asyncio.Redis.from_url(oom_url)), fail="open", n=3)
    assert statuses == [500] * 3


def test_wrong_password_is_misconfiguration_never_fail_open(redis_url):
    client = redis.asyncio.Redis.from_url(redis_url, username="nobody", password="wrong")
    assert _statuses(_limiter(client), fail="open", n=3) == [500] * 3


def test_acl_without_permission_is_misconfiguration(redis_url):
    user = f"noperm{uuid.uuid4().hex[:6]}"
    redis.Redis.from_url(redis_url).acl_setuser(user, enabled=True, passwords=["+pw"], keys=["*"],
                                                commands=["+ping", "+hello", "+auth"])
    client = redis.asyncio.Redis.from_url(redis_url, username=user, password="pw")
    assert _statuses(_limiter(client), fail="open", n=3) == [500] * 3


@pytest.mark.parametrize(("fail", "status"), [("open", 200), ("closed", 503)])
def test_refused_connection_is_an_outage(fail, status):
    client = redis.asyncio.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    assert _statuses(_limiter(client), fail=fail, n=2) == [status] * 2


@pytest.mark.parametrize(("fail", "status"), [("open", 200), ("closed", 503)])
def test_socket_timeout_is_an_outage(fail, status):
    with StallServer() as stall:
        client = redis.asyncio.Redis.from_url(stall.url, socket_timeout=0.2, socket_connect_timeout=0.5)
        assert _statuses(_limiter(client), fail=fail, n=1) == [status]


class _Raising:
    """A limiter whose storage answers with ``error`` (for rows a single server cannot produce)."""

    def __init__(self, error):
        self.error = error

    async def check(self, key, cost=1):
        raise self.error


TRANSIENT = [rx.BusyLoadingError("LOADING"), rx.TryAgainError("TRYAGAIN"), rx.ClusterDownError("CLUSTERDOWN"),
             rx.ResponseError("TRYAGAIN rehashing")]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(("fail", "status"), [("open", 200), ("closed", 503)])
def test_transient_server_states_are_outages(error, fail, status):
    assert _statuses(_Raising(error), fail=fail, n=1) == [status]


@pytest.mark.parametrize("error", [rx.NoScriptError("No matching script"),
                                   rx.ResponseError("Error running script: user_script:1: oops")],
                         ids=["NOSCRIPT", "script-error"])
def test_script_errors_raise(error):
    assert _statuses(_Raising(error), fail="open", n=1) == [500]


# ---- the caches: reads fail open on outages only -------------------------------------------------

class _FakeDown(fakeredis.FakeRedis):
    error: Exception = rx.ConnectionError("down")

    def execute_command(self, *args, **kwargs):
        raise self.error


@pytest.mark.parametrize("error", [rx.ConnectionError("refused"), rx.TryAgainError("TRYAGAIN"),
                                   rx.BusyLoadingError("LOADING")], ids=lambda e: type(e).__name__)
def test_cache_read_fails_open_on_outages(error):
    client = _FakeDown()
    client.error = error
    cache = CacheAside(lambda k: f"loaded {k}", ttl=60, backend=RedisBackend(client), name="products")
    assert cache.get("42") == "loaded 42"


def test_cache_read_raises_on_wrong_password(redis_url):
    client = redis.Redis.from_url(redis_url, username="nobody", password="wrong")
    cache = CacheAside(lambda k: f"loaded {k}", ttl=60, backend=RedisBackend(client), name="products")
    with pytest.raises(rx.AuthenticationError):
        cache.get("42")  # today: the loader's value, as if Redis were merely down


def test_cache_read_raises_on_wrongtype(redis_url):
    client = redis.Redis.from_url(redis_url)
    backend = RedisBackend(client)
    cache = CacheAside(lambda k: f"loaded {k}", ttl=60, backend=backend, name=f"c{uuid.uuid4().hex[:6]}")
    client.hset(cache.backend.entry_key("42"), "f", "v")
    with pytest.raises(rx.ResponseError, match="WRONGTYPE"):
        cache.get("42")


# ---- the shop: 503 only for outages --------------------------------------------------------------

def test_shop_answers_500_not_503_for_a_store_bug():
    from highload.shop import ShopSettings, create_app

    class WrongType(fakeredis.FakeRedis):
        def execute_command(self, *args, **kwargs):
            raise rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")

        def pipeline(self, *args, **kwargs):
            raise rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")

    import httpx

    app = create_app(ShopSettings(instance_id="A", carts="redis"), redis=WrongType())

    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            return await client.get("/cart/c1")

    response = asyncio.run(go())
    assert response.status_code == 500 and response.json()["detail"]["error"] == "internal_error"

