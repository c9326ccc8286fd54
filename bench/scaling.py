"""``python -m bench scaling``: the shop cluster under wrk, cart stores, and balancer picks.

Four groups, each measured side by side in one run:

1. **Capacity that scales.** Two cores cannot show CPU-bound scale-out honestly, so every
   instance gets a fixed capacity instead (``max_in_flight`` requests at once, each holding
   ``io_delay`` of simulated I/O: :mod:`highload.shop.capacity`), like a worker pool or a
   connection pool. Clusters of 1, 2 and 3 instances run at the same time behind real nginx;
   wrk drives ``GET /cart/{id}`` (Redis carts) through each balancer in alternating order.
   Ratio = N-instance req/s / 1-instance req/s, per repeat. Targets: 2 → 1.8x, 3 → 2.5x.
2. **Raw req/s.** The same, without the capacity limit: CPU-bound on two cores shared with
   wrk, nginx and Redis. Reported as measured, no target.
3. **Embedded proxy vs nginx.** The same two instances behind both balancers; the ratio is the
   embedded proxy's req/s over nginx's.
4. **Cart stores** (p50/p99 per operation, in-process) and **balancer picks** (ns per pick,
   against ``next(itertools.cycle(...))``, the floor of any pick).
"""

from __future__ import annotations

import contextlib
import itertools
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from highload import balancing
from highload.carts import InMemoryCartStore, RedisCartStore
from highload.cluster import Cluster
from highload.nginx import find_nginx

from ._harness import Paired, Settings, calibrate, redis_server, server, timed_chunk, wrk
from ._report import RatioRow, progress, ratio_table, redis_server_version, table, version

CAPACITY = "fixed capacity per instance: max_in_flight=4, io_delay=50 ms (GET /cart/c1 via nginx, wrk -c32)"
RAW = "raw, CPU-bound on 2 shared cores (GET /cart/c1 via nginx, wrk -c16); no target"
PROXY = "embedded teaching proxy vs nginx, same 2 instances (GET /cart/c1, wrk -c16)"
MAX_IN_FLIGHT, IO_DELAY = 4, 0.05
PATH = "/cart/c1"


def _rates(ports: dict[str, int], s: Settings, connections: int, seconds: int) -> dict[str, list[float]]:
    """req/s per side and repeat: wrk on each port in turn, the order reversed every chunk."""
    names = list(ports)
    for name in names:  # warm-up: connections, JIT-free but caches and pools
        wrk(ports[name], 1, connections, PATH)
    rates = {name: [] for name in names}
    for _ in range(s.repeats):
        totals = {name: [0.0, 0.0] for name in names}
        for i in range(s.http_chunks):
            for name in names if i % 2 == 0 else reversed(names):
                requests, wall = wrk(ports[name], seconds, connections, PATH)
                totals[name][0] += requests
                totals[name][1] += wall
        for name in names:
            rates[name].append(totals[name][0] / totals[name][1])
    return rates


def _create_cart(url: str) -> None:
    import httpx

    response = httpx.post(f"{url}{PATH}/items", json={"sku": "KB-001", "qty": 1}, timeout=10)
    response.raise_for_status()


def _scaling_rows(section: str, s: Settings, redis_url: str, capacity: bool) -> list[RatioRow]:
    options = {"max_in_flight": MAX_IN_FLIGHT, "io_delay": IO_DELAY} if capacity else {}
    connections, seconds = (32, max(2, s.http_seconds)) if capacity else (16, s.http_seconds)
    with contextlib.ExitStack() as stack:
        clusters = {n: stack.enter_context(Cluster(n, lb="nginx", carts="redis", redis_url=redis_url, **options))
                    for n in (1, 2, 3)}
        _create_cart(clusters[1].url)
        progress(f"{section.split(':')[0]}: wrk on 1, 2, 3 instances, {s.repeats} x {s.http_chunks} runs each")
        rates = _rates({n: c.port for n, c in clusters.items()}, s, connections, seconds)
    targets = {2: 1.8, 3: 2.5} if capacity else {}
    return [RatioRow(section, f"{n} instance{'s' * (n > 1)}", "1 instance", Paired(rates[n], rates[1]),
                     target=targets.get(n)) for n in (1, 2, 3)]


def _proxy_rows(s: Settings, redis_url: str) -> list[RatioRow]:
    with Cluster(2, lb="nginx", carts="redis", redis_url=redis_url) as cluster:
        _create_cart(cluster.url)
        upstreams = [a for i in cluster.instances for a in ("--upstream", i.address)]

        def argv(port: int) -> list[str]:
            return [sys.executable, "-m", "highload.cluster.proxy", "--port", str(port), *upstreams]

        def ready(port: int) -> bool:
            import httpx

            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            return False

        with server(argv, ready, "embedded proxy") as proxy:
            progress(f"embedded proxy vs nginx, {s.repeats} x {s.http_chunks} runs each")
            rates = _rates({"embedded": proxy.port, "nginx": cluster.port}, s, 16, s.http_seconds)
    return [RatioRow(PROXY, "embedded proxy (asyncio + httpx)", "nginx", Paired(rates["embedded"], rates["nginx"]))]


def _latencies(op: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        op(i)
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def cart_table(redis_url: str, s: Settings) -> str:
    import redis

    n = 200 if s.quick else 3000
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    stores = {"InMemoryCartStore": InMemoryCartStore(),
              "RedisCartStore (private redis-server)": RedisCartStore(client, ttl=3600)}
    body = []
    for name, store in stores.items():
        adds = _latencies(lambda i, store=store: store.add_item(f"c{i % 50}", f"sku{i % 7}", 1), n)
        gets = _latencies(lambda i, store=store: store.get_cart(f"c{i % 50}"), n)
        for op, values in (("add_item", adds), ("get_cart", gets)):
            body.append((name, op, f"{_percentile(values, 50):.1f}", f"{_percentile(values, 99):.1f}"))
    client.close()
    return table(("store", "operation", "p50 us", "p99 us"), body, numeric=frozenset({2, 3}))


def pick_table(s: Settings) -> str:
    servers = [f"s{i}" for i in range(5)]
    keys = [f"user-{i}" for i in range(1024)]

    def per_pick(make: Callable[[], Callable[[int], None]]) -> list[float]:
        run = make()
        chunk = timed_chunk(run, calibrate(run, s.chunk_seconds))
        out = []
        for _ in range(s.repeats):
            ops = secs = 0.0
            for _ in range(s.chunks):
                done, took = chunk()
                ops, secs = ops + done, secs + took
            out.append(secs / ops * 1e9)
        return out

    def cycle():
        it = itertools.cycle(servers)
        return lambda n: [next(it) for _ in range(n)] and None

    def method(lb, name):
        fn = getattr(lb, name)
        return lambda n: [fn() for _ in range(n)] and None

    def acquire_release(lb):
        acquire, release = lb.acquire, lb.release
        return lambda n: [release(acquire()) for _ in range(n)] and None

    def hashed(lb):
        pick = lb.pick
        return lambda n: [pick(keys[i & 1023]) for i in range(n)] and None

    cases = {
        "floor: next(itertools.cycle(servers))": cycle,
        "RoundRobin.next()": lambda: method(balancing.RoundRobin(servers), "next"),
        "SmoothWeightedRoundRobin.next()": lambda: method(
            balancing.SmoothWeightedRoundRobin(dict(zip(servers, [5, 1, 1, 2, 3], strict=True))), "next"),
        "LeastConnections acquire()+release()": lambda: acquire_release(balancing.LeastConnections(servers)),
        "PowerOfTwoChoices acquire()+release()": lambda: acquire_release(balancing.PowerOfTwoChoices(servers, 0)),
        "ConsistentHash.pick(key), 100 replicas": lambda: hashed(balancing.ConsistentHash(servers)),
    }
    results = {name: per_pick(make) for name, make in cases.items()}  # 5 servers each
    floor = statistics.median(results["floor: next(itertools.cycle(servers))"])
    body = [(name, f"{statistics.median(v):.0f}", f"{min(v):.0f}-{max(v):.0f}",
             f"{statistics.median(v) / floor:.1f}x") for name, v in results.items()]
    return table(("pick, 5 servers", "ns/pick", "range", "vs floor"), body, numeric=frozenset({1, 2, 3}))


def run(s: Settings) -> int:
    nginx = find_nginx()
    nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip() if nginx else "none"
    print(f"python {platform.python_version()} | {nginx_version} | redis-server {redis_server_version()} | "
          f"uvicorn {version('uvicorn')} | wrk {'yes' if shutil.which('wrk') else 'not installed'}")
    print(f"{s.repeats} repeat(s); HTTP: {s.http_chunks} wrk run(s) per side per repeat"
          + (" [--quick: smoke run, numbers are not meaningful]" if s.quick else ""))
    print("ratio = median over repeats of (case req/s / reference req/s); every side of a section "
          "measured interleaved in one run\n")
    missing = [why for ok, why in ((nginx, "nginx is not installed (apt-get install nginx)"),
                                   (shutil.which("wrk"), "wrk is not installed (apt-get install wrk)"),
                                   (shutil.which("redis-server"), "redis-server is not installed"))
               if not ok]
    rows: list[RatioRow] = []
    with redis_server() if shutil.which("redis-server") else contextlib.nullcontext() as redis_url:
        if missing:
            reason = "; ".join(missing)
            rows = [RatioRow(section, case, "1 instance", skipped=reason)
                    for section in (CAPACITY, RAW) for case in ("1 instance", "2 instances", "3 instances")]
            rows.append(RatioRow(PROXY, "embedded proxy (asyncio + httpx)", "nginx", skipped=reason))
        else:
            rows += _scaling_rows(CAPACITY, s, redis_url, capacity=True)
            rows += _scaling_rows(RAW, s, redis_url, capacity=False)
            rows += _proxy_rows(s, redis_url)
        print(ratio_table(rows, "req/s"))
        print()
        if redis_url:
            progress("cart stores")
            print(cart_table(redis_url, s))
            print()
    progress("balancer picks")
    print(pick_table(s))
    print()
    counts = {status: sum(r.status.startswith(status) for r in rows) for status in ("PASS", "MISS", "SKIP", "info")}
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return 0

