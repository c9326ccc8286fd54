"""``python -m bench replication``: what read routing costs, and what it buys.

1. **Decision cost** (simulated set, in process): a read through ``ReadRouter(SessionToken())``
   and through the exercise's ``SessionRouter``, against a direct ``replica.read`` (the floor),
   interleaved in alternating chunks; the ratio is the median over repeats of floor rate / case rate.
2. **Replica share at zero stale reads**: 20 sessions, each doing one operation per think time
   (0.25 × the lag scale, ±50 %), one write per ten reads of its own profile. Each replica's lag is
   drawn from ``scale × U(0.5, 1.5)`` (per write on the simulation, once per replica on Postgres)
   with a fixed seed per repeat. LSN tokens against time pinning at the *shortest pin that gives
   0 stale reads* (searched on the simulation; the largest replica lag on Postgres). Median of 5.
   The token is read-your-writes only (``SessionToken(monotonic=False)``); the strict monotonic
   token's share is shown beside it on the simulation: it chases the primary's head.
3. **Synchronous vs asynchronous commit** latency on Postgres, in alternating chunks.

Parts 2 (Postgres) and 3 need Postgres' server binaries and the ``pg`` extra; they are skipped,
saying why, when those are missing.
"""

from __future__ import annotations

import heapq
import random
import statistics
import threading
import time

from highload.replication import (
    ReadRouter,
    SessionRouter,
    SessionToken,
    SimulatedReplicaSet,
    TimePinning,
    postgres,
)

from ._harness import Settings, calibrate, interleave, timed_chunk
from ._report import progress, table

SESSIONS = 20
WRITE_EVERY = 11        # one write per ten reads
THINK = 0.25            # per-session think time, as a fraction of the lag scale
SCALES = (0.1, 1.0)


# -- 1. decision cost ---------------------------------------------------------------------------
def decision_cost(s: Settings) -> list[tuple[str, ...]]:
    rs = SimulatedReplicaSet(lags=[0.0, 0.0])
    rs.primary.write("k", "v")
    replica = rs.replicas[0]
    token = ReadRouter(rs, policy=SessionToken(), detect_stale=False)
    exercise = SessionRouter(rs.primary, rs.replicas)

    def direct(n):
        for _ in range(n):
            replica.read("k")

    def routed(router):
        def run(n):
            for _ in range(n):
                router.read("s", "k")
        return run

    rows = []
    for name, run in (("ReadRouter(SessionToken()).read", routed(token)), ("SessionRouter.read", routed(exercise))):
        n_case, n_ref = calibrate(run, s.chunk_seconds), calibrate(direct, s.chunk_seconds)
        paired = interleave(timed_chunk(run, n_case), timed_chunk(direct, n_ref), repeats=s.repeats, chunks=s.chunks)
        rows.append((name, f"{1e6 / paired.case:.2f}", f"{1e6 / paired.ref:.2f}", f"{1 / paired.ratio:.2f}x"))
    return rows


# -- 2. replica share at zero stale reads -----------------------------------------------------------
def _simulated_run(policy_factory, scale: float, seed: int, duration_scales: float = 200):
    rs = SimulatedReplicaSet(lags=[lambda rng: scale * rng.uniform(0.5, 1.5)] * 2, seed=seed)
    router = ReadRouter(rs, policy=policy_factory())
    rng = random.Random(seed)
    queue = [(rng.uniform(0, THINK * scale), s) for s in range(SESSIONS)]
    heapq.heapify(queue)
    last: dict[int, int] = {}
    stale = 0
    end = duration_scales * scale
    while queue:
        t, s = heapq.heappop(queue)
        if t > end:
            break
        rs.clock.set(t)
        if rng.randrange(WRITE_EVERY) == 0:
            last[s] = last.get(s, 0) + 1
            router.write(s, f"profile:{s}", last[s])
        else:
            stale += router.read(s, f"profile:{s}") != last.get(s)
        heapq.heappush(queue, (t + THINK * scale * rng.uniform(0.5, 1.5), s))
    return router.replica_share, stale


def _shortest_safe_pin(scale: float, seed: int, duration_scales: float) -> float:
    """Bisect pins of k × 0.05 × scale (k = 1..40): a longer pin is never staler."""
    def safe(k: int) -> bool:
        return _simulated_run(lambda: TimePinning(0.05 * k * scale), scale, seed, duration_scales)[1] == 0

    low, high = 0, 40                            # safe(high) holds: 2 × scale > the largest lag
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if safe(mid) else (mid, high)
    return 0.05 * high * scale


def share_on_simulation(s: Settings) -> list[tuple[str, ...]]:
    rows = []
    span = 40 if s.quick else 200                # run length, in lag scales
    for scale in SCALES:
        token, strict, pinned, pins, gaps = [], [], [], [], []
        for seed in range(s.repeats):
            share_t, stale_t = _simulated_run(lambda: SessionToken(monotonic=False), scale, seed, span)
            share_m, stale_m = _simulated_run(SessionToken, scale, seed, span)
            assert stale_t == stale_m == 0, "token routing must never be stale"
            strict.append(share_m)
            pin = _shortest_safe_pin(scale, seed, span)
            share_p, _ = _simulated_run(lambda pin=pin: TimePinning(pin), scale, seed, span)
            token.append(share_t)
            pinned.append(share_p)
            pins.append(pin)
            gaps.append(share_t - share_p)
        rows.append((f"simulation, lag {scale:g} s × U(0.5,1.5)",
                     f"{statistics.median(token):.2f} (monotonic too: {statistics.median(strict):.2f})",
                     f"{statistics.median(pinned):.2f} (pin {statistics.median(pins):.3g} s)",
                     f"{statistics.median(gaps):+.2f}"))
    return rows


def _postgres_run(rs, policy, scale: float, seed: int, duration: float) -> tuple[float, int]:
    router = ReadRouter(rs, policy=policy, clock=time.monotonic, detect_stale=False)
    deadline = time.monotonic() + duration
    stale = [0]
    lock = threading.Lock()

    def session(s: int) -> None:
        rng = random.Random(seed * 1000 + s)
        key, version = f"bench:{seed}:{type(policy).__name__}:{s}", 0
        while time.monotonic() < deadline:
            if rng.randrange(WRITE_EVERY) == 0 or version == 0:
                version += 1
                router.write(s, key, version)
            elif router.read(s, key) != str(version):
                with lock:
                    stale[0] += 1
            time.sleep(THINK * scale * rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=session, args=(s,)) for s in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return router.replica_share, stale[0]


def share_on_postgres(rs, s: Settings) -> list[tuple[str, ...]]:
    rows = []
    for scale in SCALES[:1] if s.quick else SCALES:
        token, pinned, stale_p, gaps = [], [], [], []
        duration = (2 if s.quick else 30) * scale
        for seed in range(s.repeats):
            rng = random.Random(seed)
            lags = [scale * rng.uniform(0.5, 1.5) for _ in rs.replicas]
            for i, lag in enumerate(lags):
                rs.set_lag(i, lag)
            share_t, stale_t = _postgres_run(rs, SessionToken(monotonic=False), scale, seed, duration)
            share_p, st_p = _postgres_run(rs, TimePinning(max(lags)), scale, seed, duration)
            assert stale_t == 0, "token routing must never be stale"
            progress(f"postgres scale {scale:g} seed {seed}: token {share_t:.2f} ({stale_t} stale), "
                     f"pin {max(lags):.3g} s {share_p:.2f} ({st_p} stale)")
            token.append(share_t)
            pinned.append(share_p)
            stale_p.append(st_p)
            gaps.append(share_t - share_p)
        rows.append((f"Postgres, lag {scale:g} s × U(0.5,1.5)", f"{statistics.median(token):.2f}",
                     f"{statistics.median(pinned):.2f} (pin = max lag; {sum(stale_p)} stale)",
                     f"{statistics.median(gaps):+.2f}"))
    for i in range(len(rs.replicas)):
        rs.set_lag(i, 0)
    return rows


# -- 3. synchronous vs asynchronous commit ------------------------------------------------------
def sync_vs_async(rs, s: Settings) -> tuple[float, float, float]:
    n = 20 if s.quick else 100
    ratios, a_ms, s_ms = [], [], []

    def chunk(tag: str) -> float:
        t = time.perf_counter()
        for i in range(n):
            rs.primary.write(f"commit:{tag}:{i}", i)
        return (time.perf_counter() - t) / n * 1000

    for _ in range(s.repeats):
        per = {"async": [], "sync": []}
        for order in (("async", "sync"), ("sync", "async")) * (1 if s.quick else 2):
            for mode in order:
                rs.set_synchronous(["replica1"] if mode == "sync" else None)
                per[mode].append(chunk(mode))
        a, b = statistics.median(per["async"]), statistics.median(per["sync"])
        a_ms.append(a)
        s_ms.append(b)
        ratios.append(b / a)
    rs.set_synchronous(None)
    return statistics.median(a_ms), statistics.median(s_ms), statistics.median(ratios)


def run(s: Settings) -> int:
    progress("decision cost on the simulated set")
    print(table(("read", "µs/read", "floor µs", "cost vs direct replica.read"), decision_cost(s),
                numeric=frozenset({1, 2, 3})))
    print()
    progress("replica share at 0 stale reads, simulation")
    rows = share_on_simulation(s)
    reason = postgres.available()
    sync = None
    if reason is None:
        progress("starting a private Postgres primary + 2 replicas")
        with postgres.PostgresReplicaSet(replicas=2) as rs:
            rows += share_on_postgres(rs, s)
            sync = sync_vs_async(rs, s)
    print(table(("workload", "LSN-token replica share", "time-pinning replica share", "token − pinning"), rows,
                numeric=frozenset({1, 3})))
    print(f"({SESSIONS} sessions, 1 write per 10 reads, think time {THINK:g} × lag scale per session; "
          f"median of {s.repeats} seeded repeats; token routing had 0 stale reads throughout)")
    print()
    if sync:
        print(f"commit latency, median: async {sync[0]:.3f} ms, synchronous (replica1, on) {sync[1]:.3f} ms, "
              f"ratio {sync[2]:.2f}x (paired per repeat, loopback)")
    else:
        print(f"Postgres parts skipped: {reason}")
    return 0
