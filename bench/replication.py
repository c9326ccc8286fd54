"""``python -m bench replication``: what read routing costs, and what it buys.

1. **Decision cost** (simulated set, in process): a read through ``ReadRouter(SessionToken())``,
   through the exercise's ``SessionRouter``, and the bare position check plus read any token
   router makes (``replica.applied_lsn`` then ``replica.read``), each against a direct
   ``replica.read`` of the same key on the same kind of replica (the floor: the read the router
   ends up doing), all interleaved in alternating chunks. Ratio = median over repeats of case
   rate / floor rate; the cost per read is its inverse.
2. **Replica share at zero stale reads**: the workload of :data:`WORKLOAD` (printed with the
   table), under three lag models (:data:`LAG_MODELS`), each at lag scales 100 ms and 1 s.
   LSN tokens against time pinning at the *shortest pin that gives 0 stale reads*: on the
   simulation that pin is computed exactly (the longest time after a session's write at which a
   replica read was still stale, from an eventual-consistency run of the same seeded workload,
   then checked: 0 stale); on Postgres (steady and spiky models) it is the largest lag set
   during the run. Median of 5 seeded repeats.
   The token is read-your-writes only (``SessionToken(monotonic=False)``); the strict monotonic
   token's share is shown beside it on the simulation: it chases the primary's head.
3. **Synchronous vs asynchronous commit** latency on Postgres, in alternating chunks.

Parts 2 (Postgres) and 3 need Postgres' server binaries and the ``pg`` extra; they are skipped,
saying why, when those are missing.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
import threading
import time
from collections.abc import Callable

from highload.clock import ManualClock
from highload.replication import (
    AnyReplica,
    ReadRouter,
    SessionRouter,
    SessionToken,
    SimulatedReplicaSet,
    TimePinning,
    postgres,
)

from ._harness import Settings, interleave_group
from ._report import RatioRow, progress, ratio_table, table

SESSIONS = 20
REPLICAS = 2
WRITE_EVERY = 11        # one write per ten reads
THINK = 0.25            # per-session think time, as a fraction of the lag scale
SCALES = (0.1, 1.0)
WORKLOAD = (f"{SESSIONS} sessions, {REPLICAS} replicas; each session acts once per think time "
            f"({THINK:g} x the lag scale, x U(0.5, 1.5)): with probability 1/{WRITE_EVERY} it saves its "
            f"profile, else it reads it back (1 write per {WRITE_EVERY - 1} reads); a read is stale when "
            "it does not return the session's last saved value")

POSTGRES_MODELS = ("steady", "spiky")   # a run per model and scale takes 2 x 5 x 30 lag scales

COST_SECTION = "read routing on the simulated set: rate vs a direct replica.read"
COST_TARGET = 0.33      # cost per routed read <= 3x a direct replica read


# -- 1. decision cost ---------------------------------------------------------------------------
def decision_cost(s: Settings) -> list[RatioRow]:
    rs = SimulatedReplicaSet(lags=[0.0, 0.0])
    rs.primary.write("k", "v")
    replica = rs.replicas[0]
    token = ReadRouter(rs, policy=SessionToken(), detect_stale=False)
    remembering = ReadRouter(rs, policy=SessionToken(monotonic=False, remember_positions=True),
                             detect_stale=False)
    exercise = SessionRouter(rs.primary, rs.replicas)

    def direct(n):
        for _ in range(n):
            replica.read("k")

    def checked(n):
        for _ in range(n):
            if replica.applied_lsn >= 1:
                replica.read("k")

    def routed(router):
        def run(n):
            for _ in range(n):
                router.read("s", "k")
        return run

    measured = interleave_group(direct, {
        "ReadRouter(SessionToken()).read": routed(token),
        "ReadRouter(SessionToken(monotonic=False, remember_positions=True)).read": routed(remembering),
        "SessionRouter.read (the exercise)": routed(exercise),
        "replica.applied_lsn + replica.read, no router": checked,
    }, s)
    return [RatioRow(COST_SECTION, case, "replica.read (direct)", paired,
                     target=COST_TARGET if case.startswith("ReadRouter") else None)
            for case, paired in measured.items()]


PG_COST_SECTION = "read routing on Postgres: rate vs a direct replica read"


def decision_cost_on_postgres(rs, s: Settings) -> list[RatioRow]:
    """The same reads on the real replica set: a routed read asks the replica its position
    (one more round trip) unless a remembered position covers the token."""
    for i in range(len(rs.replicas)):
        rs.set_lag(i, 0)
    rs.primary.write("k", "v")
    replica = rs.replicas[0]
    routers = {
        "ReadRouter(SessionToken()).read": SessionToken(),
        "ReadRouter(SessionToken(monotonic=False)).read": SessionToken(monotonic=False),
        "ReadRouter(SessionToken(monotonic=False, remember_positions=True)).read":
            SessionToken(monotonic=False, remember_positions=True),
    }

    def direct(n):
        for _ in range(n):
            replica.read("k")

    def routed(policy):
        router = ReadRouter(rs.primary, [replica], policy=policy, clock=time.monotonic, detect_stale=False)

        def run(n):
            for _ in range(n):
                router.read("s", "k")
        return run

    measured = interleave_group(direct, {case: routed(policy) for case, policy in routers.items()}, s)
    return [RatioRow(PG_COST_SECTION, case, "replica.read (direct)", paired) for case, paired in measured.items()]


# -- 2. replica share at zero stale reads -----------------------------------------------------------
def _steady(rng: random.Random, scale: float, span: float) -> list[float]:
    return [scale * rng.uniform(0.5, 1.5) for _ in range(REPLICAS)]


def _redrawn(draw: Callable[[random.Random, float], float]):
    """Each replica's lag redrawn every ``scale`` seconds (piecewise constant, seeded)."""
    def lags(rng: random.Random, scale: float, span: float) -> list[list[float]]:
        return [[draw(rng, scale) for _ in range(int(span) + 2)] for _ in range(REPLICAS)]
    return lags


#: name -> (what it is, rng, scale, span -> per-replica lags: a constant, or one value per scale
#: of time). Replay stays in log order, so a drop in lag only lets the replica catch up.
LAG_MODELS = {
    "steady": ("each replica a constant lag, scale x U(0.5, 1.5) (the Postgres model: "
               "recovery_min_apply_delay)", _steady),
    "jittered": ("each replica's lag redrawn every scale seconds from scale x U(0.5, 1.5)",
                 _redrawn(lambda rng, scale: scale * rng.uniform(0.5, 1.5))),
    "spiky": ("each replica's lag redrawn every scale seconds from scale x lognormal(0, 0.5): "
              "median = scale, 1 % above 3.2 x scale",
              _redrawn(lambda rng, scale: scale * rng.lognormvariate(0, 0.5))),
}


def _simulated_run(policy, scale: float, seed: int, span: float, model: str = "steady"):
    """``(replica share, stale reads, longest time after a write that a read was stale)``."""
    clock = ManualClock()
    lags = LAG_MODELS[model][1](random.Random(seed), scale, span)
    if isinstance(lags[0], list):
        lags = [lambda rng, values=values: values[int(clock() // scale)] for values in lags]
    rs = SimulatedReplicaSet(lags=lags, clock=clock, seed=seed)
    router = ReadRouter(rs, policy=policy)
    rng = random.Random(seed)
    queue = [(rng.uniform(0, THINK * scale), s) for s in range(SESSIONS)]
    heapq.heapify(queue)
    last: dict[int, int] = {}
    wrote_at: dict[int, float] = {}
    stale, oldest = 0, 0.0
    end = span * scale
    while queue:
        t, s = heapq.heappop(queue)
        if t > end:
            break
        clock.set(t)
        if rng.randrange(WRITE_EVERY) == 0:
            last[s] = last.get(s, 0) + 1
            wrote_at[s] = t
            router.write(s, f"profile:{s}", last[s])
        elif router.read(s, f"profile:{s}") != last.get(s):
            stale += 1
            oldest = max(oldest, t - wrote_at[s])
        heapq.heappush(queue, (t + THINK * scale * rng.uniform(0.5, 1.5), s))
    return router.replica_share, stale, oldest


def _shortest_safe_pin(scale: float, seed: int, span: float, model: str) -> float:
    """Just above the longest time after a write at which an eventual read was still stale.

    Pinning reads a replica exactly where eventual routing does (the round robin moves on
    every read, whatever serves it, and the workload does not depend on the answers), so a
    pin longer than every stale read's age is safe, and any shorter one lets that read through.
    """
    _, stale, oldest = _simulated_run(AnyReplica(), scale, seed, span, model)
    return math.nextafter(oldest, math.inf) if stale else 0.0


def share_on_simulation(s: Settings) -> list[tuple[str, ...]]:
    rows = []
    span = 40 if s.quick else 200                # run length, in lag scales
    for model in LAG_MODELS:
        for scale in SCALES:
            token, strict, pinned, pins, gaps = [], [], [], [], []
            for seed in range(s.repeats):
                share_t, stale_t, _ = _simulated_run(SessionToken(monotonic=False), scale, seed, span, model)
                share_m, stale_m, _ = _simulated_run(SessionToken(), scale, seed, span, model)
                assert stale_t == stale_m == 0, "token routing must never be stale"
                pin = _shortest_safe_pin(scale, seed, span, model)
                share_p, stale_p, _ = _simulated_run(TimePinning(pin), scale, seed, span, model)
                assert stale_p == 0, f"pin {pin} s should be safe, had {stale_p} stale reads"
                token.append(share_t)
                strict.append(share_m)
                pinned.append(share_p)
                pins.append(pin)
                gaps.append(share_t - share_p)
            rows.append((f"simulation, {model} lag, scale {scale:g} s",
                         f"{statistics.median(token):.2f} (monotonic too: {statistics.median(strict):.2f})",
                         f"{statistics.median(pinned):.2f} (pin {statistics.median(pins):.3g} s)",
                         f"{statistics.median(gaps):+.2f}"))
    return rows


def _postgres_run(rs, policy, scale: float, seed: int, duration: float, lags) -> tuple[float, int, float]:
    """``(replica share, stale reads, largest lag set)``: the workload for ``duration`` seconds,
    with each replica's lag constant or, for a redrawn model, set to the next value every
    ``scale`` seconds (a change lands a few ms late: the largest lag still bounds them all)."""
    router = ReadRouter(rs, policy=policy, clock=time.monotonic, detect_stale=False)
    start = time.monotonic()
    deadline = start + duration
    stale = [0]
    lock = threading.Lock()
    steps = 1 if not isinstance(lags[0], list) else int(duration / scale) + 1
    plan = [[values] for values in lags] if steps == 1 else lags
    worst = max(max(values[:steps]) for values in plan)

    def vary() -> None:
        for k in range(steps):
            time.sleep(max(0.0, start + k * scale - time.monotonic()))
            for i, values in enumerate(plan):
                rs.set_lag(i, values[k])

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

    vary_first = steps == 1
    if vary_first:
        vary()
    threads = [threading.Thread(target=session, args=(s,)) for s in range(SESSIONS)]
    if not vary_first:
        threads.append(threading.Thread(target=vary))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return router.replica_share, stale[0], worst


def share_on_postgres(rs, s: Settings) -> list[tuple[str, ...]]:
    rows = []
    for model in POSTGRES_MODELS:
        for scale in SCALES[:1] if s.quick else SCALES:
            token, pinned, stale_p, gaps, pins = [], [], [], [], []
            duration = (2 if s.quick else 30) * scale
            for seed in range(s.repeats):
                lags = LAG_MODELS[model][1](random.Random(seed), scale, duration / scale)
                share_t, stale_t, pin = _postgres_run(rs, SessionToken(monotonic=False), scale, seed, duration, lags)
                share_p, st_p, _ = _postgres_run(rs, TimePinning(pin), scale, seed, duration, lags)
                assert stale_t == 0, "token routing must never be stale"
                progress(f"postgres {model} scale {scale:g} seed {seed}: token {share_t:.2f} ({stale_t} stale), "
                         f"pin {pin:.3g} s {share_p:.2f} ({st_p} stale)")
                token.append(share_t)
                pinned.append(share_p)
                stale_p.append(st_p)
                gaps.append(share_t - share_p)
                pins.append(pin)
            rows.append((f"Postgres, {model} lag, scale {scale:g} s", f"{statistics.median(token):.2f}",
                         f"{statistics.median(pinned):.2f} (pin {statistics.median(pins):.3g} s = largest lag; "
                         f"{sum(stale_p)} stale)",
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
    print(ratio_table(decision_cost(s), "reads/s"))
    print("(cost per read = 1 / ratio; the position check and the read alone, with no router, "
          "are the third row: any token router pays those)")
    print()
    progress("replica share at 0 stale reads, simulation")
    rows = share_on_simulation(s)
    reason = postgres.available()
    sync = None
    if reason is None:
        progress(f"starting a private Postgres primary + {REPLICAS} replicas")
        with postgres.PostgresReplicaSet(replicas=REPLICAS) as rs:
            progress("decision cost on Postgres")
            print(ratio_table(decision_cost_on_postgres(rs, s), "reads/s"))
            print("(a routed read asks the replica its position first: one more round trip, unless a "
                  "remembered position covers the session's token)")
            print()
            rows += share_on_postgres(rs, s)
            sync = sync_vs_async(rs, s)
    print(table(("workload", "LSN-token replica share", "time-pinning replica share", "token - pinning"), rows,
                numeric=frozenset({1, 3})))
    print(f"workload: {WORKLOAD}; median of {s.repeats} seeded repeats; token routing had 0 stale reads "
          "throughout; pin = the shortest with 0 stale reads (simulation: exact; Postgres: the largest lag set)")
    for name, (what, _) in LAG_MODELS.items():
        print(f"  {name} lag: {what}")
    print()
    if sync:
        print(f"commit latency, median: async {sync[0]:.3f} ms, synchronous (replica1, on) {sync[1]:.3f} ms, "
              f"ratio {sync[2]:.2f}x (paired per repeat, loopback)")
    else:
        print(f"Postgres parts skipped: {reason}")
    return 0
