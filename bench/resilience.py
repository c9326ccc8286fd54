"""``python -m bench resilience``: the in-process cost of highload's breaker and retry, against
a direct call and against ``pybreaker`` and ``tenacity``.

A breaker or a retry wraps a call, so what it costs is its *overhead*: the time per call of
``wrapper(f)`` minus the time per call of ``f()`` itself, with a trivial ``f``. Every group
below times the direct call (the floor) and each case interleaved, in alternating chunks inside
every repeat (see :mod:`bench._harness`). Per repeat, a case's overhead is
``1/case rate - 1/floor rate``; a peer row's ratio is ``peer overhead / highload overhead``
(how many times smaller highload's overhead is), taken per repeat, and the table shows the
median over repeats. The absolute microseconds depend on the machine: the footer prints the
direct-call floor of the run to read them against.

Single thread, sequential; the Redis group uses a private ``redis-server`` started for the run.
"""

from __future__ import annotations

import itertools
import platform
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ._harness import Paired, Settings, interleave_group, redis_server
from ._report import progress, redis_server_version, table, version

#: A side of a group: ``run(n)`` does n calls.
Run = Callable[[int], None]

CLOSED_SECTION = "closed path, trivial f(): overhead over a direct f()"
OPEN_SECTION = "open circuit: rejection incl. raise + except, over a direct f() in the same try"
REDIS_SECTION = "Redis-shared breaker, closed path (private redis-server, one client)"
RETRY_SECTION = "retry wrapper, success path: overhead over a direct f()"

DIRECT = "direct f() (floor)"
HL = "highload CircuitBreaker().call(f)"
HL_LATENCY = "highload CircuitBreaker(record_latency=True).call(f)"
PB = "pybreaker CircuitBreaker().call(f)"
HL_OPEN = "highload open: call(f) -> CircuitOpenError"
PB_OPEN = "pybreaker open: call(f) -> CircuitBreakerError"
HL_SHARED = "highload CircuitBreaker(shared=RedisBreakerState).call(f)"
PB_REDIS = "pybreaker CircuitBreaker(CircuitRedisStorage).call(f)"
GET = "redis-py GET (one round trip)"
RETRY = "highload Retry().call(f)"
TENACITY = "tenacity Retrying(stop=stop_after_attempt(3))(f)"
RETRY_DECO = "highload @Retry() decorated f()"
TENACITY_DECO = "tenacity @retry(stop=stop_after_attempt(3)) f()"


def f() -> int:
    """The guarded call: trivial, so what is timed is the wrapper."""
    return 1


@dataclass
class Row:
    """One line of the table.

    ``kind="abs"``: ``case_us`` is the case's overhead per repeat and ``ref_us`` the floor's
    time per call; the target is a maximum overhead in microseconds.
    ``kind="ratio"``: ``case_us`` and ``ref_us`` are the overheads of highload and of the peer
    per repeat; the ratio is ``ref_us / case_us`` and the target its minimum.
    """

    section: str
    case: str
    reference: str
    case_us: list[float] | None = None
    ref_us: list[float] | None = None
    kind: str = "abs"
    target: float | None = None
    skipped: str = ""

    @property
    def ratios(self) -> list[float]:
        return [r / c if c > 0 else float("inf") for c, r in zip(self.case_us, self.ref_us, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def overhead(self) -> float:
        return statistics.median(self.case_us)

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIP"
        if self.target is None:
            return "info"
        ok = self.ratio >= self.target if self.kind == "ratio" else self.overhead <= self.target
        return "PASS" if ok else "MISS"


# --------------------------------------------------------------------------------------------
# Timing: the floor and several cases, interleaved
# --------------------------------------------------------------------------------------------


def overheads(p: Paired) -> list[float]:
    """Per repeat: microseconds per call of the case minus those of the floor."""
    return [1e6 / c - 1e6 / r for c, r in zip(p.case_rates, p.ref_rates, strict=True)]


def floor_us(p: Paired) -> list[float]:
    """Per repeat: microseconds per call of the floor."""
    return [1e6 / r for r in p.ref_rates]


def _calls(call: Callable, *args) -> Run:
    """``run(n)``: ``call(*args)`` n times; ``_calls(f)`` is the direct floor."""
    if not args:
        def run(n: int) -> None:
            for _ in itertools.repeat(None, n):
                call()
    else:
        (arg,) = args

        def run(n: int) -> None:
            for _ in itertools.repeat(None, n):
                call(arg)

    return run


def _rejected(call: Callable | None, error: type[BaseException]) -> Run:
    """``run(n)``: ``call(f)`` inside ``try/except error`` n times (``call=None``: ``f()``)."""
    if call is None:
        def run(n: int) -> None:
            for _ in itertools.repeat(None, n):
                try:
                    f()
                except error:
                    pass
    else:
        def run(n: int) -> None:
            for _ in itertools.repeat(None, n):
                try:
                    call(f)
                except error:
                    pass

    return run



def _missing(module: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed (pip install {module})"
    return ""


def _group_rows(section: str, measured: dict[str, Paired], targets: dict[str, float | None],
                peers: list[tuple[str, str, float | None]]) -> Iterator[Row]:
    """Rows of one group: every case against the floor, then (ours, peer) overhead ratios."""
    for name, paired in measured.items():
        yield Row(section, name, DIRECT, overheads(paired), floor_us(paired), "abs", targets.get(name))
    for case, peer, target in peers:
        yield Row(section, case, peer, overheads(measured[case]), overheads(measured[peer]),
                  "ratio", target)


# --------------------------------------------------------------------------------------------
# In process
# --------------------------------------------------------------------------------------------


def closed_rows(s: Settings) -> Iterator[Row]:
    from highload.resilience import CircuitBreaker

    cb, cb_latency = CircuitBreaker(name="bench"), CircuitBreaker(name="bench", record_latency=True)
    assert cb._fast and cb_latency._fast, "the benchmark must time the closed fast path"
    cases = {HL: _calls(cb.call, f), HL_LATENCY: _calls(cb_latency.call, f)}
    skipped = _missing("pybreaker")
    if not skipped:
        import pybreaker

        cases[PB] = _calls(pybreaker.CircuitBreaker().call, f)
    progress("closed path: direct f() vs highload (latency off, on)"
              + ("" if skipped else " vs pybreaker"))
    measured = interleave_group(_calls(f), cases, s)
    assert cb.state == "closed" and cb_latency.state == "closed"
    assert cb_latency.metrics().p50 is not None, "record_latency=True must have recorded"
    # Targets: <= 0.5 us without latency, <= 1 us with it; >= 3x smaller than pybreaker's.
    yield from _group_rows(CLOSED_SECTION, measured, {HL: 0.5, HL_LATENCY: 1.0},
                           [] if skipped else [(HL, PB, 3.0)])
    if skipped:
        yield Row(CLOSED_SECTION, PB, DIRECT, skipped=skipped)
        yield Row(CLOSED_SECTION, HL, PB, kind="ratio", target=3.0, skipped=skipped)


def open_rows(s: Settings) -> Iterator[Row]:
    from highload.resilience import CircuitBreaker, CircuitOpenError

    cb = CircuitBreaker(name="bench", open_timeout=1e9)
    cb.force_open()
    assert cb._fast_open, "the benchmark must time the open fast path"
    cases = {HL_OPEN: _rejected(cb.call, CircuitOpenError)}
    skipped = _missing("pybreaker")
    if not skipped:
        import pybreaker

        pb = pybreaker.CircuitBreaker(reset_timeout=1e9)
        pb.open()
        cases[PB_OPEN] = _rejected(pb.call, pybreaker.CircuitBreakerError)
    progress("open circuit: rejection, highload" + ("" if skipped else " vs pybreaker"))
    measured = interleave_group(_rejected(None, CircuitOpenError), cases, s)
    assert cb.state == "open" and cb.metrics().calls == 0, "every call must have been rejected"
    if not skipped:
        assert pb.current_state == "open"
    # Target: a rejection, raise and except included, costs <= 1.5 us; pybreaker for context.
    yield from _group_rows(OPEN_SECTION, measured, {HL_OPEN: 1.5},
                           [] if skipped else [(HL_OPEN, PB_OPEN, None)])
    if skipped:
        yield Row(OPEN_SECTION, PB_OPEN, DIRECT, skipped=skipped)


def retry_rows(s: Settings) -> Iterator[Row]:
    from highload.resilience import Retry

    retry = Retry()
    cases = {RETRY: _calls(retry.call, f), RETRY_DECO: _calls(Retry()(f))}
    skipped = _missing("tenacity")
    if not skipped:
        import tenacity

        retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(3))
        cases[TENACITY] = _calls(retrying, f)
        cases[TENACITY_DECO] = _calls(tenacity.retry(stop=tenacity.stop_after_attempt(3))(f))
    progress("retry success path: direct f() vs highload Retry" + ("" if skipped else " vs tenacity"))
    measured = interleave_group(_calls(f), cases, s)
    # Target: highload's success-path overhead >= 10x smaller than tenacity's.
    yield from _group_rows(RETRY_SECTION, measured, {},
                           [] if skipped else [(RETRY, TENACITY, 10.0), (RETRY_DECO, TENACITY_DECO, None)])
    if skipped:
        yield Row(RETRY_SECTION, TENACITY, DIRECT, skipped=skipped)
        yield Row(RETRY_SECTION, RETRY, TENACITY, kind="ratio", target=10.0, skipped=skipped)


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


def redis_rows(url: str, s: Settings) -> Iterator[Row]:
    import redis

    from highload.resilience import CircuitBreaker, RedisBreakerState

    client = redis.Redis.from_url(url)
    shared = RedisBreakerState(client, prefix="hl:bench:cb:")
    cb = CircuitBreaker(name="bench", shared=shared, clock=time.time)
    assert cb.call(f) == 1 and cb.state == "closed"
    client.set("hl:bench:get", b"x")
    cases = {HL_SHARED: _calls(cb.call, f), GET: _calls(client.get, "hl:bench:get")}
    skipped = _missing("pybreaker")
    if not skipped:
        import pybreaker

        storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace="hl:bench")
        pb = pybreaker.CircuitBreaker(state_storage=storage)
        assert pb.call(f) == 1 and pb.current_state == "closed"
        cases[PB_REDIS] = _calls(pb.call, f)
    progress("Redis-shared closed path: highload" + ("" if skipped else " vs pybreaker"))
    measured = interleave_group(_calls(f), cases, s)
    assert cb.state == "closed"
    # Target: highload's shared closed path >= 40x less overhead than pybreaker's Redis storage.
    yield from _group_rows(REDIS_SECTION, measured, {},
                           [] if skipped else [(HL_SHARED, PB_REDIS, 40.0)])
    if skipped:
        yield Row(REDIS_SECTION, PB_REDIS, DIRECT, skipped=skipped)
        yield Row(REDIS_SECTION, HL_SHARED, PB_REDIS, kind="ratio", target=40.0, skipped=skipped)
    client.close()


#: The Redis rows, for a machine without redis-server.
REDIS_ROWS = [
    (HL_SHARED, DIRECT, "abs", None),
    (GET, DIRECT, "abs", None),
    (PB_REDIS, DIRECT, "abs", None),
    (HL_SHARED, PB_REDIS, "ratio", 40.0),
]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _us(x: float) -> str:
    return f"{x:,.3f}"


def _target(row: Row) -> str:
    if row.target is None:
        return "-"
    return f">= {row.target:.2f}x" if row.kind == "ratio" else f"<= {row.target:.2f} us"


def render(rows: list[Row]) -> str:
    head = ("case", "overhead us", "reference", "ref us", "ratio", "range", "target", "status")
    body = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            body.append((f"[{section}]",))
        if row.skipped:
            body.append((row.case, "-", row.reference, "-", "-", "-", _target(row), f"SKIP: {row.skipped}"))
            continue
        ref = statistics.median(row.ref_us)
        if row.kind == "ratio":
            ratio = f"{row.ratio:.2f}x"
            spread = f"{min(row.ratios):.2f}-{max(row.ratios):.2f}x"
        else:
            ratio = "-"
            spread = f"{min(row.case_us):.3f}-{max(row.case_us):.3f} us"
        body.append((row.case, _us(row.overhead), row.reference, _us(ref), ratio, spread,
                     _target(row), row.status))
    return table(head, body)


def header(s: Settings) -> str:
    return "\n".join([
        f"python {platform.python_version()} | pybreaker {version('pybreaker')} | "
        f"tenacity {version('tenacity')} | redis-py {version('redis')} | "
        f"redis-server {redis_server_version()}",
        f"{s.repeats} repeat(s) x {s.chunks} chunk(s) per side of ~{s.chunk_seconds * 1000:g} ms"
        + (" [--quick: smoke run, numbers are not meaningful]" if s.quick else ""),
        "overhead = median over repeats of (1/case rate - 1/direct f() rate), in us per call; "
        "ref us = the floor's time per call, or the peer's overhead",
        "ratio = median over repeats of (peer overhead / highload overhead): how many times "
        "smaller highload's is; all sides of a section measured interleaved",
        "",
    ])


def run(s: Settings) -> int:
    print(header(s), flush=True)
    rows: list[Row] = []
    rows.extend(closed_rows(s))
    rows.extend(open_rows(s))
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (Debian: apt-get install redis-server)"
        rows.extend(Row(REDIS_SECTION, case, ref, kind=kind, target=target, skipped=reason)
                    for case, ref, kind, target in REDIS_ROWS)
    else:
        with redis_server() as url:
            progress(f"private redis-server at {url}")
            rows.extend(redis_rows(url, s))
    rows.extend(retry_rows(s))
    print(render(rows))
    print()
    floors = [statistics.median(r.ref_us) for r in rows if r.reference == DIRECT and r.ref_us]
    if floors:
        print(f"direct f() floor: ~{min(floors) * 1000:.0f}-{max(floors) * 1000:.0f} ns per call "
              "in this run (loop included); the absolute us targets assume a machine about this "
              "fast (see bench/README.md)")
    get = next((r for r in rows if r.case == GET and r.case_us), None)
    if get is not None:
        print(f"one Redis round trip (GET) took ~{get.overhead:.0f} us in this run; the Redis "
              "ratio depends on it: pybreaker's Redis storage pays two per call (GET state, SET "
              "fail_counter)")
    counts = {status: sum(r.status.startswith(status) for r in rows)
              for status in ("PASS", "MISS", "SKIP", "info")}
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return 0
