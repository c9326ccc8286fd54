"""Who is the client? The socket peer, unless a trusted proxy says otherwise.

Through real nginx (the generated config) and the embedded proxy, in front of a real uvicorn app
limited per IP: a client that makes up ``X-Forwarded-For`` gets no extra requests, and two real
clients (one bound to 127.0.0.2) get a limit each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from highload.cluster import cluster as cluster_module
from highload.nginx import find_nginx, run_nginx, upstream_config
from highload.processes import free_port, kill_group
from highload.proxies import TrustedProxies, uvicorn_options
from highload.ratelimit import RateLimiter, SlidingWindowLogPolicy
from highload.ratelimit.fastapi import RateLimitMiddleware, by_ip
from highload.shop import ShopSettings, create_app

ROOT = Path(__file__).resolve().parent.parent
NGINX_SKIP = "nginx is not installed (apt-get install nginx): nginx tests skipped"
LBS = [pytest.param("nginx", marks=pytest.mark.skipif(find_nginx() is None, reason=NGINX_SKIP)), "embedded"]


# ---- the rule --------------------------------------------------------------------------------

def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy():
    trusted = TrustedProxies(["10.0.0.1", "192.168.0.0/16"])
    assert trusted.client("203.0.113.7", ["198.51.100.1"]) == "203.0.113.7", "an untrusted peer's header is ignored"
    assert trusted.client("10.0.0.1", ["198.51.100.1"]) == "198.51.100.1"
    assert trusted.client("10.0.0.1", ["6.6.6.6, 198.51.100.1, 192.168.3.4"]) == "198.51.100.1", \
        "walk from the right, skipping trusted hops: the leftmost entries are the client's own claims"
    assert trusted.client("10.0.0.1", []) == "10.0.0.1"
    assert TrustedProxies(()).client("10.0.0.1", ["198.51.100.1"]) == "10.0.0.1", "nobody trusted by default"
    assert list(TrustedProxies(["127.0.0.1/32", "10.0.0.0/8"])) == ["127.0.0.1", "10.0.0.0/8"]


def test_remembered_verdicts_agree_with_parsing_and_stay_bounded():
    # Verdicts are remembered per host text (parsing each request's addresses was most of the
    # middleware's cost behind a proxy); forwarded hops are whatever a client writes, so a flood
    # of distinct ones must neither grow memory without bound nor change an answer.
    trusted = TrustedProxies(["10.0.0.1", "192.168.0.0/16", "::1"])
    hosts = ["10.0.0.1", "10.0.0.2", "192.168.7.7", "0:0::1", "::1", "nginx", "", "192.169.0.1"]
    want = [True, False, True, True, True, False, False, False]
    for _round in range(3):
        assert [trusted.trusts(h) for h in hosts] == want
        for i in range(3000):
            assert not trusted.trusts(f"198.51.{i // 256}.{i % 256}")
        assert len(trusted._verdicts) <= 4096


def test_bad_trusted_proxies_are_refused_naming_the_parameter():
    with pytest.raises(ValueError, match="trusted_proxies must hold IP addresses or networks, got 'nginx'"):
        TrustedProxies(["nginx"])
    with pytest.raises(TypeError, match="trusted_proxies must be a list"):
        TrustedProxies("127.0.0.1")
    with pytest.raises(ValueError, match="trusted_proxies"):
        ShopSettings(instance_id="A", trusted_proxies=("not an ip",))


def test_uvicorn_trusts_exactly_the_same_proxies():
    assert uvicorn_options(()) == {"proxy_headers": False}, "uvicorn's default (trust 127.0.0.1) is switched off"
    assert uvicorn_options(["127.0.0.1", "10.0.0.0/8"]) == {"proxy_headers": True,
                                                            "forwarded_allow_ips": "127.0.0.1,10.0.0.0/8"}


async def _statuses(app, peer: str, n: int, **headers) -> list[int]:
    transport = httpx.ASGITransport(app=app, client=(peer, 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        return [(await http.get("/", headers=headers)).status_code for _ in range(n)]


def _limited_app(**options) -> FastAPI:
    app = FastAPI()
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(SlidingWindowLogPolicy(2, 300)), key=by_ip,
                       **options)

    @app.get("/")
    def root():
        return {"ok": True}

    return app


def test_middleware_believes_x_forwarded_for_only_from_a_trusted_proxy():
    app = _limited_app(trusted_proxies=["10.0.0.1"])
    spoofed = [asyncio.run(_statuses(app, "203.0.113.7", 1, **{"X-Forwarded-For": uuid.uuid4().hex}))[0]
               for _ in range(4)]
    assert spoofed == [200, 200, 429, 429], "a direct client's made-up header changes nothing"
    assert asyncio.run(_statuses(app, "10.0.0.1", 3, **{"X-Forwarded-For": "198.51.100.1"})) == [200, 200, 429]
    assert asyncio.run(_statuses(app, "10.0.0.1", 1, **{"X-Forwarded-For": "198.51.100.2"})) == [200], \
        "two clients behind the proxy get a limit each"


def test_shop_sees_the_client_a_trusted_proxy_reports():
    app = create_app(ShopSettings(instance_id="A", trusted_proxies=("10.0.0.1",)))

    @app.get("/whoami")
    def whoami(request: Request):
        return request.client.host

    async def who(peer, forwarded):
        transport = httpx.ASGITransport(app=app, client=(peer, 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
            return (await http.get("/whoami", headers={"X-Forwarded-For": forwarded})).json()

    assert asyncio.run(who("10.0.0.1", "198.51.100.1")) == "198.51.100.1"
    assert asyncio.run(who("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_cluster_instances_trust_the_balancer_and_nobody_else(tmp_path):
    cluster = cluster_module.Cluster(2, state_dir=tmp_path)
    argv = cluster._instance_argv(cluster_module.Instance("shop-1", 8001))
    assert argv[argv.index("--trusted-proxy") + 1] == cluster_module.BALANCER_ADDRESS
    assert argv.count("--trusted-proxy") == 1


def test_generated_nginx_config_overwrites_the_client_address_headers():
    conf = upstream_config(["127.0.0.1:8001"], listen_port=8080)
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_set_header X-Real-IP $remote_addr;" in conf


# ---- for real: uvicorn behind nginx and behind the embedded proxy ---------------------------------

def _wait_for(url: str, process: subprocess.Popen) -> None:
    for _ in range(400):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.05)  # waiting for a server to listen, not a timing assertion
    raise RuntimeError(f"{url} did not answer")


@contextlib.contextmanager
def _spawn(argv: list[str], ready_url: str):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(ready_url, process)
        yield process
    finally:
        kill_group(process)


@contextlib.contextmanager
def _balancer(lb: str, upstream: str):
    port = free_port()
    if lb == "nginx":
        with run_nginx(upstream_config([upstream], listen_port=port)) as nginx:
            yield nginx.url
        return
    argv = [sys.executable, "-m", "highload.cluster.proxy", "--port", str(port), "--upstream", upstream]
    with _spawn(argv, f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("lb", LBS)
def test_behind_a_real_proxy_a_spoofed_header_changes_nothing_and_clients_are_apart(lb):
    app_port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.apps.by_ip:app", "--host", "127.0.0.1",
            "--port", str(app_port), "--log-level", "warning", "--forwarded-allow-ips", "127.0.0.1"]  # the balancer's address
    with _spawn(argv, f"http://127.0.0.1:{app_port}/health"), _balancer(lb, f"127.0.0.1:{app_port}") as url:
        with httpx.Client(base_url=url, timeout=10) as first:
            spoofed = [first.get("/", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                       for i in range(1, 6)]
        assert spoofed == [200, 200, 429, 429, 429], "a made-up X-Forwarded-For must not buy more requests"
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=url, timeout=10, transport=other) as second:
            assert [second.get("/").status_code for _ in range(3)] == [200, 200, 429], \
                "a second client (another address) has its own limit"
