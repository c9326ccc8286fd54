"""A real nginx in front of real uvicorn upstreams: passive health checks, retries and a backup.

The usual passive-check setup: ``max_fails=3 fail_timeout=30s`` per primary,
``proxy_next_upstream error timeout http_500 http_502 http_503`` with
``proxy_next_upstream_tries 2``, and a ``backup`` server. Every upstream is ``python -m highload.lab.flaky_upstream`` in its own session, killed
by process group when the test ends (or mid-test, to simulate a crash).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter

import httpx
import pytest

import highload.nginx
from highload.lab.flaky_upstream import run_flaky
from highload.nginx import find_nginx, nginx_config, run_nginx, upstream_config
from highload.processes import free_port

NGINX_SKIP = "nginx is not installed (apt-get install nginx): nginx tests skipped"
needs_nginx = pytest.mark.skipif(find_nginx() is None, reason=NGINX_SKIP)

N = 40
MAX_FAILS = 3


@pytest.fixture
def downstream():
    """Start flaky upstreams by name; every one is killed by process group at teardown."""
    with contextlib.ExitStack() as stack:
        yield lambda name, **kwargs: stack.enter_context(run_flaky(name=name, **kwargs))


def _config(primaries, backups=(), **kwargs):
    options = {"max_fails": MAX_FAILS, "fail_timeout": 30, "next_upstream_tries": 2,
               "next_upstream": "error timeout http_500 http_502 http_503", **kwargs}
    return upstream_config([s.address for s in primaries], [s.address for s in backups],
                           listen_port=free_port(), connect_timeout=1, **options)


def _send(http, n=N):
    """``n`` sequential GETs: (status, served_by, number of upstreams nginx tried) for each."""
    out = []
    for _ in range(n):
        r = http.get("/")
        out.append((r.status_code, r.json().get("served_by"), len(r.headers["X-Upstream-Addr"].split(","))))
    return out


def test_config_is_the_classic_passive_health_check():
    conf = upstream_config(["127.0.0.1:8001", "127.0.0.1:8002"], ["127.0.0.1:8003"], listen_port=8080)
    assert "server 127.0.0.1:8001 max_fails=3 fail_timeout=30s;" in conf
    assert "server 127.0.0.1:8003 backup;" in conf
    assert "proxy_next_upstream error timeout http_500 http_502 http_503;" in conf
    assert "proxy_next_upstream_tries 2;" in conf and "listen 127.0.0.1:8080;" in conf
    assert "daemon off;" in conf and "pid nginx.pid;" in conf and "proxy_temp_path proxy_temp;" in conf
    with pytest.raises(ValueError, match="next_upstream must be space-separated conditions"):
        upstream_config(["127.0.0.1:8001"], listen_port=8080, next_upstream="error http_999")
    with pytest.raises(ValueError, match="max_fails must be an int >= 0, got -1"):
        upstream_config(["127.0.0.1:8001"], listen_port=8080, max_fails=-1)
    with pytest.raises(ValueError, match="upstreams must be a non-empty list"):
        upstream_config([], listen_port=8080)


def test_missing_nginx_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(highload.nginx.shutil, "which", lambda name: None)
    monkeypatch.setattr(highload.nginx, "_SBIN_PATHS", ())
    assert find_nginx() is None
    with pytest.raises(FileNotFoundError, match="apt-get install nginx"):
        with run_nginx(upstream_config(["127.0.0.1:8001"], listen_port=8080)):
            pass


@needs_nginx
def test_a_config_nginx_rejects_fails_with_its_message_and_leaves_no_process():
    bad = nginx_config(f"server {{ listen 127.0.0.1:{free_port()}; no_such_directive on; }}")
    with pytest.raises(RuntimeError, match='unknown directive "no_such_directive"'):
        with run_nginx(bad):
            pass


@needs_nginx
def test_a_crashed_primary_is_skipped_and_the_backup_serves_only_when_all_are_down(downstream):
    a, b, spare = downstream("A"), downstream("B"), downstream("backup")
    with run_nginx(_config([a, b], [spare])) as nginx, httpx.Client(base_url=nginx.url, timeout=10) as http:
        before = _send(http)
        assert {status for status, _, _ in before} == {200}
        assert Counter(name for _, name, _ in before) == {"A": N // 2, "B": N // 2}, \
            "round robin over both primaries, and the backup idles while they are up"

        a.kill()
        after_a = _send(http)
        assert [(s, name) for s, name, _ in after_a] == [(200, "B")] * N, \
            "no client error, and the surviving primary serves everything (not the backup)"
        assert sum(tried == 2 for _, _, tried in after_a) == MAX_FAILS, \
            "A's connection errors are retried on B until max_fails takes A out of rotation"

        b.kill()
        after_b = _send(http)
        assert [(s, name) for s, name, _ in after_b] == [(200, "backup")] * N, \
            "with every primary down the backup serves, still with no client error"
        assert sum(tried == 2 for _, _, tried in after_b) == MAX_FAILS
        assert nginx.error_log().count("upstream server temporarily disabled") == 2


@needs_nginx
def test_http_500_is_retried_on_the_other_upstream(downstream):
    broken, healthy = downstream("broken", failure_rate=1), downstream("healthy")
    with run_nginx(_config([broken, healthy])) as nginx, httpx.Client(base_url=nginx.url, timeout=10) as http:
        responses = [http.get("/") for _ in range(N)]
        assert [(r.status_code, r.json()["served_by"]) for r in responses] == [(200, "healthy")] * N
        retried = [r for r in responses if r.headers["X-Upstream-Status"] == "500, 200"]
        assert len(retried) == MAX_FAILS, "each 500 is retried on the healthy upstream (proxy_next_upstream http_500)"
    seen = httpx.get(f"{broken.url}/control", timeout=5).json()
    assert (seen["requests"], seen["failures"]) == (MAX_FAILS, MAX_FAILS), \
        "after max_fails failures nginx stops sending to the broken upstream for fail_timeout"


@needs_nginx
def test_a_disabled_upstream_gets_traffic_again_after_fail_timeout(downstream):
    sick, healthy = downstream("sick", failure_rate=1), downstream("healthy")
    with run_nginx(_config([sick, healthy], fail_timeout=1)) as nginx, \
            httpx.Client(base_url=nginx.url, timeout=10) as http:
        assert {(s, name) for s, name, _ in _send(http, 10)} == {(200, "healthy")}
        assert httpx.get(f"{sick.url}/control", timeout=5).json()["failures"] == MAX_FAILS
        httpx.post(f"{sick.url}/control", json={"failure_rate": 0}, timeout=5).raise_for_status()
        seen = []
        deadline = time.monotonic() + 15
        while "sick" not in {name for _, name, _ in seen} and time.monotonic() < deadline:
            seen += _send(http, 1)
            time.sleep(0.05)  # polling until nginx probes the recovered server, not a timing assertion
        assert "sick" in {name for _, name, _ in seen}, "after fail_timeout nginx tries the server again"
        assert {s for s, _, _ in seen} == {200}, "and clients saw no error meanwhile"


@pytest.mark.parametrize("balance, directive", [
    ("round_robin", None), ("least_conn", "least_conn;"), ("ip_hash", "ip_hash;"),
    ("cookie", "hash $cookie_session consistent;"),
])
def test_balance_methods_write_nginx_directives(balance, directive):
    conf = upstream_config(["127.0.0.1:8001", "127.0.0.1:8002"], listen_port=8080, balance=balance)
    upstream = conf[conf.index("upstream backend"):conf.index("server {")]
    for other in ("least_conn;", "ip_hash;", "hash $cookie"):
        assert (other in upstream) == (directive is not None and directive.startswith(other))


def test_balance_is_validated_and_hash_methods_refuse_backups():
    with pytest.raises(ValueError, match="balance must be one of"):
        upstream_config(["127.0.0.1:8001"], listen_port=8080, balance="random")
    with pytest.raises(ValueError, match="backup servers cannot be combined with balance='ip_hash'"):
        upstream_config(["127.0.0.1:8001"], ["127.0.0.1:8002"], listen_port=8080, balance="ip_hash")
    with pytest.raises(ValueError, match="sticky_cookie must be a cookie name"):
        upstream_config(["127.0.0.1:8001"], listen_port=8080, balance="cookie", sticky_cookie="a b")
