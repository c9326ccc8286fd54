"""The shop cluster for real: N uvicorn processes behind nginx (or the embedded proxy), carts in Redis.

Every cluster runs in the test's own state directory and is stopped by the ``with`` block,
which also runs when a test fails or times out (pytest-timeout raises inside the test).
The crash is a SIGKILL of the instance that served the last write: no graceful shutdown.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest

import highload.cluster.cluster as cluster_module
from highload.cluster import EMBEDDED_LABEL, Cluster
from highload.cluster.processes import Managed, is_running, start_time
from highload.nginx import find_nginx

NGINX_SKIP = "nginx is not installed (apt-get install nginx): nginx cluster tests skipped"
REDIS_SKIP = "redis-server is not installed (apt-get install redis-server): real-Redis cluster tests skipped"
LBS = [pytest.param("nginx", marks=pytest.mark.skipif(find_nginx() is None, reason=NGINX_SKIP)), "embedded"]
SKU, OTHER = "KB-001", "MS-002"


@pytest.fixture
def no_redis_server(monkeypatch):
    """Make the cluster believe redis-server is not installed."""
    real_which = shutil.which
    monkeypatch.setattr(cluster_module.shutil, "which",
                        lambda name, *a, **k: None if name == "redis-server" else real_which(name, *a, **k))


def _add(http: httpx.Client, cart: str, sku: str, qty: int) -> httpx.Response:
    response = http.post(f"/cart/{cart}/items", json={"sku": sku, "qty": qty})
    assert response.status_code == 200, response.text
    return response


def _items(response: httpx.Response) -> dict[str, int]:
    return {item["sku"]: item["qty"] for item in response.json()["items"]}


def _kill_the_writer_and_read(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.url, timeout=20) as http:
        _add(http, "c1", SKU, 2)
        last = _add(http, "c1", OTHER, 1)
        writer = last.headers["x-served-by"]
        assert _items(last) == {SKU: 2, OTHER: 1}

        cluster.kill(writer)
        assert not cluster.is_alive(writer)

        served = set()
        for _ in range(2 * len(cluster.instances)):  # enough for round robin to reach the dead one
            response = http.get("/cart/c1")
            assert response.status_code == 200, f"a client error after the crash: {response.text}"
            assert _items(response) == {SKU: 2, OTHER: 1}, "items were lost with the instance"
            served.add(response.headers["x-served-by"])
        assert writer not in served
        assert len(served) == len(cluster.instances) - 1, f"the survivors all served: {served}"


@pytest.mark.parametrize("lb", LBS)
def test_redis_carts_survive_killing_the_instance_that_wrote_them(lb, tmp_path, redis_url):
    with Cluster(3, lb=lb, carts="redis", state_dir=tmp_path) as cluster:
        assert cluster.lb_kind == lb
        assert cluster.redis_kind == "redis-server (private)"
        _kill_the_writer_and_read(cluster)


def test_without_redis_server_the_instances_share_an_embedded_fakeredis(tmp_path, no_redis_server):
    with Cluster(3, lb="auto", carts="redis", state_dir=tmp_path) as cluster:
        assert "embedded fakeredis TCP server" in cluster.redis_kind
        assert "apt-get install redis-server" in cluster.describe()
        _kill_the_writer_and_read(cluster)


@pytest.mark.parametrize("lb", LBS)
def test_in_memory_carts_disappear_when_the_next_request_lands_elsewhere(lb, tmp_path):
    with Cluster(3, lb=lb, carts="memory", state_dir=tmp_path) as cluster, \
            httpx.Client(base_url=cluster.url, timeout=20) as http:
        wrote = _add(http, "c1", SKU, 1)
        assert _items(wrote) == {SKU: 1}
        read = http.get("/cart/c1")  # round robin: the next instance
        assert read.status_code == 200
        assert read.headers["x-served-by"] != wrote.headers["x-served-by"]
        assert _items(read) == {}, "another instance's memory has no such cart"


@pytest.mark.parametrize("lb", LBS)
def test_a_sticky_cookie_keeps_the_cart_until_its_server_dies(lb, tmp_path):
    with Cluster(3, lb=lb, balance="cookie", carts="memory", state_dir=tmp_path) as cluster, \
            httpx.Client(base_url=cluster.url, timeout=20, cookies={"session": "alice"}) as http:
        _add(http, "c1", SKU, 1)
        reads = [http.get("/cart/c1") for _ in range(6)]
        home = {r.headers["x-served-by"] for r in reads}
        assert len(home) == 1, f"one cookie, one server: {home}"
        assert all(_items(r) == {SKU: 1} for r in reads)

        cluster.kill(home.pop())
        after = http.get("/cart/c1")
        assert after.status_code == 200, "the balancer moved the client to a live server"
        assert _items(after) == {}, "sticky sessions keep state only while that server lives"


def test_auto_without_nginx_uses_the_labelled_embedded_proxy(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "find_nginx", lambda: None)
    with Cluster(2, lb="auto", carts="memory", state_dir=tmp_path) as cluster:
        assert cluster.lb_kind == "embedded"
        assert EMBEDDED_LABEL in cluster.describe() and "teaching fallback" in EMBEDDED_LABEL
        response = httpx.get(f"{cluster.url}/products", timeout=20)
        assert response.status_code == 200 and response.headers["x-balancer"] == "embedded"


def test_lb_nginx_without_nginx_is_a_clear_error_and_leaves_nothing_running(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "find_nginx", lambda: None)
    cluster = Cluster(2, lb="nginx", carts="memory", state_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install nginx"):
        cluster.start()
    assert not (tmp_path / "cluster.json").exists()
    assert cluster._managed == {}


@pytest.mark.parametrize("kwargs, message", [
    ({"instances": 0}, "instances must be >= 1, got 0"),
    ({"lb": "haproxy"}, "lb must be one of"),
    ({"balance": "random"}, "balance must be one of"),
    ({"carts": "disk"}, "carts must be one of"),
    ({"io_delay": 0.05}, "io_delay=0.05 needs max_in_flight"),
])
def test_bad_settings_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Cluster(**{"instances": 2, **kwargs})


# -- the command line ----------------------------------------------------------------------


def _cli(state_dir, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "highload.cluster", "--state-dir", str(state_dir), *args],
                          capture_output=True, text=True, timeout=120)


def _recorded(state_dir) -> list[Managed]:
    return [Managed(**p) for p in json.loads((state_dir / "cluster.json").read_text())["processes"]]


def test_cli_up_status_second_up_and_down(tmp_path):
    try:
        first = _cli(tmp_path, "up", "--instances", "2", "--carts", "memory")
        assert first.returncode == 0, first.stderr
        assert "load balancer" in first.stdout
        old = _recorded(tmp_path)
        assert {p.role for p in old} == {"instance", "balancer"} and all(map(is_running, old))

        status = _cli(tmp_path, "status")
        assert status.returncode == 0 and status.stdout.count("/health 200") == 3, status.stdout

        second = _cli(tmp_path, "up", "--instances", "3", "--carts", "memory")
        assert second.returncode == 0, second.stderr
        assert not any(map(is_running, old)), "a second up replaces the first cluster"
        new = _recorded(tmp_path)
        assert len(new) == 4 and all(map(is_running, new))

        down = _cli(tmp_path, "down")
        assert down.returncode == 0 and "stopped" in down.stdout
        assert not any(map(is_running, new))
        assert _cli(tmp_path, "status").returncode == 3
    finally:
        _cli(tmp_path, "down")


def test_status_reports_a_dead_instance(tmp_path):
    try:
        assert _cli(tmp_path, "up", "--instances", "2", "--carts", "memory").returncode == 0
        victim = next(p for p in _recorded(tmp_path) if p.role == "instance")
        os.killpg(victim.pid, 9)
        status = _cli(tmp_path, "status")
        assert status.returncode == 1 and "DEAD" in status.stdout
    finally:
        _cli(tmp_path, "down")


def test_down_never_signals_a_process_it_did_not_start(tmp_path):
    """A stale state file whose pid now belongs to someone else (another start time)."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        record = Managed("shop-1", "instance", bystander.pid, 1, "1", str(tmp_path / "x.log"))
        assert start_time(bystander.pid) not in (None, "1")
        (tmp_path / "cluster.json").write_text(json.dumps({"processes": [record.as_dict()]}))
        result = _cli(tmp_path, "down")
        assert result.returncode == 0 and "no cluster was running" in result.stdout
        assert bystander.poll() is None, "down killed a process it did not start"
        assert not (tmp_path / "cluster.json").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_down_cleans_up_after_a_crashed_up(tmp_path):
    """A cut-short `up`: processes recorded, the starter gone. `down` still stops them."""
    cluster = Cluster(2, carts="memory", state_dir=tmp_path).start()
    cluster.detach()  # as if the starting process had died without stopping anything
    recorded = _recorded(tmp_path)
    assert all(map(is_running, recorded))
    assert _cli(tmp_path, "down").returncode == 0
    assert not any(map(is_running, recorded))
