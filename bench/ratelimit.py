"""``python -m bench ratelimit``: highload's rate limiters against physical floors and ``limits``.

Every row is a *paired* measurement: the case and its reference run interleaved, in
alternating chunks inside every repeat (see :mod:`bench._harness`). The ratio column is
the median of the per-repeat ratios ``case rate / reference rate``; the two ops/s columns
are the medians of the absolute rates, for context only (they drift with the machine).

Single client, sequential, on a private ``redis-server`` started for the run.
"""

from __future__ import annotations

import itertools
import os
import platform
import shutil
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from ._harness import (
    Paired,
    Server,
    Settings,
    calibrate,
    cpu_seconds,
    interleave,
    interleave_many,
    redis_server,
    server,
    timed_chunk,
    wrk,
)
from ._report import RatioRow, progress, ratio_table, redis_server_version, version

ROOT = Path(__file__).resolve().parent.parent

# Parameters chosen so that every call is admitted (the hot path a healthy service runs).
TB = {"capacity": 1e9, "refill_rate": 1e6}
#: Sliding window log: a small window bounds the list by (call rate x window), about a
#: hundred entries here; in the steady state each call pops about one expired entry, as a
#: log that is full of live traffic does.
SWL = {"limit": 10**9, "window": 0.01}
SWC = {"limit": 10**9, "window": 1.0}
LIMITS_ITEM = "1000000000 per 1 second"
REDIS_SECTION = "Redis, one client, sequential"


def _loop(fn: Callable, *args) -> Callable[[int], None]:
    """``run(n)``: call ``fn(*args)`` n times."""

    def run(n: int) -> None:
        for _ in itertools.repeat(None, n):
            fn(*args)

    return run


def _pair(case: Callable[[int], None], ref: Callable[[int], None], s: Settings) -> Paired:
    n_case = calibrate(case, s.chunk_seconds)
    n_ref = calibrate(ref, s.chunk_seconds)
    return interleave(timed_chunk(case, n_case), timed_chunk(ref, n_ref),
                      repeats=s.repeats, chunks=s.chunks)



# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


def redis_rows(url: str, s: Settings) -> Iterator[RatioRow]:
    import limits
    import redis
    from limits.storage import RedisStorage as LimitsRedisStorage
    from limits.strategies import (
        FixedWindowRateLimiter,
        MovingWindowRateLimiter,
        SlidingWindowCounterRateLimiter,
    )

    from highload.ratelimit import (
        RateLimiter,
        RedisStorage,
        SlidingWindowCounterPolicy,
        SlidingWindowLogPolicy,
        TokenBucketPolicy,
        allow_all,
        check_all,
    )

    client = redis.Redis.from_url(url)
    section = REDIS_SECTION

    # 1. Floors: one round trip.
    sha = client.script_load("return 1")
    floor = _loop(client.evalsha, sha, 1, "hl:bench:floor")
    ping = _loop(client.ping)
    progress("floor: EVALSHA vs PING")
    yield RatioRow(section, "floor: redis-py EVALSHA 'return 1'", "redis-py PING", _pair(floor, ping, s))

    # 2. highload on Redis vs the floor.
    rl_storage = RedisStorage(client)
    tb = RateLimiter(TokenBucketPolicy(**TB), rl_storage)
    swl = RateLimiter(SlidingWindowLogPolicy(**SWL), rl_storage)
    swc = RateLimiter(SlidingWindowCounterPolicy(**SWC), rl_storage)
    tb_run = _loop(tb.allow, "k")
    # The target: a one-round-trip limiter costs no more than 10% over the floor.
    for label, limiter, target in (("token bucket", tb, 0.9), ("sliding window log", swl, None),
                                   ("sliding window counter", swc, None)):
        assert limiter.allow("k"), f"{label} must admit in this benchmark"
        progress(f"highload {label} vs floor")
        yield RatioRow(section, f"highload {label} allow()", "EVALSHA floor",
                  _pair(_loop(limiter.allow, "k"), floor, s), target)

    # 3. highload token bucket vs each limits Redis strategy.
    storage = LimitsRedisStorage(url)
    item = limits.parse(LIMITS_ITEM)
    mw_keys = itertools.count()
    strategies = {
        "FixedWindow": FixedWindowRateLimiter(storage),
        "MovingWindow": MovingWindowRateLimiter(storage),
        "SlidingWindowCounter": SlidingWindowCounterRateLimiter(storage),
    }

    def limits_run(name: str, strategy) -> Callable[[int], None]:
        if name != "MovingWindow":
            return _loop(strategy.hit, item, f"{name}:k")

        # The moving window's list is trimmed to the limit only, so each chunk gets a fresh
        # key: the list then never holds more than one chunk's calls.
        def run(n: int) -> None:
            key, hit = f"mw{next(mw_keys)}", strategy.hit
            for _ in itertools.repeat(None, n):
                hit(item, key)

        return run

    best, best_ratio = "FixedWindow", 0.0
    for name, strategy in strategies.items():
        assert strategy.hit(item, f"{name}:k"), f"limits {name} must admit in this benchmark"
        progress(f"highload token bucket vs limits {name}")
        paired = _pair(tb_run, limits_run(name, strategy), s)
        if best_ratio == 0.0 or paired.ratio < best_ratio:  # lowest ratio = limits' fastest
            best, best_ratio = name, paired.ratio
        # Target: never slower than any limits Redis strategy in the same run.
        yield RatioRow(section, "highload token bucket allow()", f"limits {name}.hit()", paired, 1.0)

    # 4. Three limits in one round trip vs limits' fastest strategy, three hits.
    per_ip = RateLimiter(TokenBucketPolicy(**TB, name="per_ip"), rl_storage)
    per_user = RateLimiter(TokenBucketPolicy(**TB, name="per_user"), rl_storage)
    global_ = RateLimiter(TokenBucketPolicy(**TB, name="global"), rl_storage)
    checks = [(per_ip, "203.0.113.7"), (per_user, "user-42"), (global_, "all")]
    assert all(d.allowed for d in check_all(checks))
    items = [limits.parse(LIMITS_ITEM.replace("1000000000", str(10**9 + i))) for i in range(3)]
    strategy = strategies[best]
    keys = ["3:203.0.113.7", "3:user-42", "3:all"]

    def three_hits(n: int) -> None:
        hit = strategy.hit
        (a, ka), (b, kb), (c, kc) = zip(items, keys, strict=True)
        for _ in itertools.repeat(None, n):
            hit(a, ka) and hit(b, kb) and hit(c, kc)

    # limits.hit() answers a bool, so the like-for-like call is allow_all (verdict only);
    # check_all, which also builds three Decisions for headers, is shown for context.
    progress(f"allow_all x3 vs limits {best} x3")
    assert allow_all(checks)
    all3 = _loop(allow_all, checks)
    yield RatioRow(section, "highload allow_all(3 token buckets)",
              f"limits {best}.hit() x3", _pair(all3, three_hits, s), 2.5)
    progress(f"check_all x3 vs limits {best} x3")
    yield RatioRow(section, "highload check_all(3 token buckets)",
              f"limits {best}.hit() x3", _pair(_loop(check_all, checks), three_hits, s))
    progress("allow_all x3 vs floor")
    yield RatioRow(section, "highload allow_all(3 token buckets)", "EVALSHA floor", _pair(all3, floor, s))
    storage.get_connection().close()
    client.close()


# --------------------------------------------------------------------------------------------
# In memory
# --------------------------------------------------------------------------------------------


def memory_rows(s: Settings) -> Iterator[RatioRow]:
    import limits
    from limits.storage import MemoryStorage
    from limits.strategies import FixedWindowRateLimiter

    from highload.ratelimit import RateLimiter, TokenBucket, TokenBucketPolicy

    section = "in memory"
    item = limits.parse(LIMITS_ITEM)
    ref = _loop(FixedWindowRateLimiter(MemoryStorage()).hit, item, "k")
    limiter = RateLimiter(TokenBucketPolicy(**TB))
    bucket = TokenBucket(**TB)
    progress("in-memory RateLimiter vs limits")
    yield RatioRow(section, "highload RateLimiter(TokenBucketPolicy).allow(key)",
              "limits memory FixedWindow.hit()", _pair(_loop(limiter.allow, "k"), ref, s), 2.0)
    progress("in-memory TokenBucket vs limits")
    yield RatioRow(section, "highload TokenBucket.allow()",
              "limits memory FixedWindow.hit()", _pair(_loop(bucket.allow), ref, s), 2.0)


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------



def _get(port: int) -> tuple[int, dict[str, str]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}


def _http_ready(port: int) -> bool:
    try:
        return _get(port)[0] == 200
    except OSError:
        return False


def _uvicorn(app: str):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", f"bench._http_app:{app}", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]

    return server(argv, _http_ready, f"uvicorn {app}", cwd=str(ROOT), env=env)


def _wrk_chunk(srv: Server, seconds: int) -> Callable[[], tuple[float, float, float]]:
    """One wrk run against ``srv``: (requests, wall seconds, server CPU seconds)."""

    def chunk() -> tuple[float, float, float]:
        cpu0 = cpu_seconds(srv.pid)
        requests, wall = wrk(srv.port, seconds)
        return requests, wall, cpu_seconds(srv.pid) - cpu0

    return chunk


def http_rows(s: Settings) -> Iterator[RatioRow]:
    section = "HTTP (uvicorn, 1 worker; wrk -t1 -c4)"
    case, ref = "FastAPI GET / + RateLimitMiddleware", "same app, no middleware"
    cpu_case, cpu_ref = f"{case} (per server CPU-s)", f"{ref} (per server CPU-s)"
    if shutil.which("wrk") is None:
        reason = "wrk is not installed (Debian: apt-get install wrk)"
        yield RatioRow(section, case, ref, target=0.90, skipped=reason)
        yield RatioRow(section, cpu_case, cpu_ref, skipped=reason)
        return
    with _uvicorn("limited") as limited, _uvicorn("plain") as plain:
        assert "ratelimit" in _get(limited.port)[1], "the limited app must send RateLimit headers"
        assert "ratelimit" not in _get(plain.port)[1]
        if s.http_warmup:
            wrk(limited.port, s.http_warmup)
            wrk(plain.port, s.http_warmup)
        progress(f"wrk, {s.repeats} x {s.http_chunks} x {s.http_seconds} s per side")
        if os.path.exists(f"/proc/{plain.pid}/stat"):
            wall, cpu = interleave_many(_wrk_chunk(limited, s.http_seconds),
                                        _wrk_chunk(plain, s.http_seconds),
                                        repeats=s.repeats, chunks=s.http_chunks)
        else:
            wall = interleave(lambda: wrk(limited.port, s.http_seconds),
                              lambda: wrk(plain.port, s.http_seconds),
                              repeats=s.repeats, chunks=s.http_chunks)
            cpu = None
    yield RatioRow(section, case, ref, wall, 0.90)
    # The same runs, counted per second of the server's own CPU: far less sensitive to
    # other processes on a shared machine than requests per wall second.
    yield RatioRow(section, cpu_case, cpu_ref, cpu, skipped="" if cpu else "no /proc to read CPU time from")


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def header(s: Settings) -> str:
    redis_v = redis_server_version()
    import redis.utils

    return "\n".join([
        f"python {platform.python_version()} | redis-py {version('redis')} "
        f"(hiredis: {'yes' if redis.utils.HIREDIS_AVAILABLE else 'no'}) | redis-server {redis_v} | "
        f"limits {version('limits')} | fastapi {version('fastapi')} | uvicorn {version('uvicorn')} "
        f"(uvloop: {'yes' if version('uvloop') != '-' else 'no'}, httptools: "
        f"{'yes' if version('httptools') != '-' else 'no'})",
        f"{s.repeats} repeat(s) x {s.chunks} chunk(s) per side of ~{s.chunk_seconds * 1000:g} ms; "
        f"HTTP: {s.http_chunks} wrk run(s) of {s.http_seconds} s per side per repeat"
        + (" [--quick: smoke run, numbers are not meaningful]" if s.quick else ""),
        "ratio = median over repeats of (case ops/s / reference ops/s), both measured interleaved; "
        "range = min-max of the per-repeat ratios",
        "",
    ])


REDIS_ROWS = [
    ("floor: redis-py EVALSHA 'return 1'", "redis-py PING", None),
    ("highload token bucket allow()", "EVALSHA floor", None),
    ("highload sliding window log allow()", "EVALSHA floor", None),
    ("highload sliding window counter allow()", "EVALSHA floor", None),
    ("highload token bucket allow()", "limits FixedWindow.hit()", None),
    ("highload token bucket allow()", "limits MovingWindow.hit()", None),
    ("highload token bucket allow()", "limits SlidingWindowCounter.hit()", None),
    ("highload check_all(3 token buckets)", "limits <fastest>.hit() x3", 2.5),
    ("highload check_all(3 token buckets)", "EVALSHA floor", None),
]


def run(s: Settings) -> int:
    print(header(s), flush=True)
    rows: list[RatioRow] = []
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (Debian: apt-get install redis-server)"
        rows.extend(RatioRow(REDIS_SECTION, case, ref, target=target, skipped=reason)
                    for case, ref, target in REDIS_ROWS)
    else:
        with redis_server() as url:
            progress(f"private redis-server at {url}")
            rows.extend(redis_rows(url, s))
    rows.extend(memory_rows(s))
    rows.extend(http_rows(s))
    print(ratio_table(rows, "ops/s"))
    print()
    floor = next((r for r in rows if r.reference == "redis-py PING" and r.paired), None)
    if floor is not None:
        print(f"one round trip (EVALSHA floor) took ~{1e6 / floor.paired.case:.0f} us in this run; "
              "round-trip-bound ratios depend on it (see bench/README.md)")
    print(f"sliding window log: limit={SWL['limit']}, window={SWL['window']} s "
          f"(its list stays ~ call rate x window); limits items: '{LIMITS_ITEM}', "
          "MovingWindow on a fresh key per chunk")
    counts = {status: sum(r.status.startswith(status) for r in rows)
              for status in ("PASS", "MISS", "SKIP", "info")}
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return 0
