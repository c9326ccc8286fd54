"""``python -m bench sharding``: routers against uhashring, placement quality, and Redis Cluster.

1. **Ring lookups/s.** ``ConsistentHashRing.get_node`` (md5) against uhashring's ``get_node``
   (md5; its default layout and its ketama layout), 10 nodes and the same number of ring points
   (160 per node). Target >= 1.2x. The crc32 option is reported separately (no target: it is a
   different hash).
2. **Placement.** Adding the 11th node to 10: moved fraction / ideal (1/11); and peak-to-mean
   load on 10 nodes; each the mean over 20 random node-name sets, on 1M keys (routers with O(N)
   or stateful lookups on 100k keys and 5 sets, said in the table). Lookups are vectorised with
   numpy from each router's own table or points, checked against ``get_node`` on a sample.
   Targets: ring moved <= 1.05x ideal at the default vnodes; Maglev and jump peak-to-mean <= 1.02;
   bounded load <= 1 + epsilon.
3. **Redis Cluster** (3 masters, real redis-server): pipelined SET+GET throughput against one
   standalone redis-server from the same run, and ``RedisCluster.get`` against ``Redis.get`` on
   the node that owns the key (the client's own overhead). Reported, no targets (2 cores).

Sides of 1 and 3 run interleaved in alternating chunks in every repeat (bench/_harness.py); each
repeat gives one ratio, and the table shows their median.
"""

from __future__ import annotations

import platform
import random
import shutil
import statistics
from bisect import bisect

import numpy as np

from highload.sharding import (
    BoundedLoadRing,
    ConsistentHashRing,
    JumpHash,
    Maglev,
    ModuloSharder,
    RendezvousHash,
    crc32_64,
    md5_64,
    peak_to_mean,
)

from ._harness import Settings, interleave_group, redis_server
from ._report import RatioRow, progress, ratio_table, redis_server_version, table, version

LOOKUPS = "ring lookups/s, 10 nodes x 160 points, md5"
POINTS = 160
NODES = 10
SETS, KEYS = 20, 1_000_000
SLOW_SETS, SLOW_KEYS = 5, 100_000
EPSILON = 0.25


def _loop(fn, keys):
    def run(n: int) -> None:
        k = len(keys)
        for i in range(n):
            fn(keys[i % k])
    return run


def lookup_rows(s: Settings) -> list[RatioRow]:
    from uhashring import HashRing

    nodes = [f"cache-{i}" for i in range(NODES)]
    keys = [f"user:{i}" for i in range(10_000)]
    peers = {"uhashring HashRing (md5, 160 vnodes)": HashRing(nodes=nodes, vnodes=POINTS),
             "uhashring HashRing (ketama: 40 vnodes x 4 points)": HashRing(nodes=nodes, hash_fn="ketama")}
    ours = ConsistentHashRing(nodes, vnodes=POINTS)
    fast = ConsistentHashRing(nodes, vnodes=POINTS, hash_fn=crc32_64)
    rows = []
    for label, peer in peers.items():
        assert len(peer.get_points()) == NODES * POINTS == len(ours.points()), "same number of ring points"
        progress(f"lookups vs {label}")
        measured = interleave_group(_loop(peer.get_node, keys), {
            "highload ConsistentHashRing (md5)": _loop(ours.get_node, keys),
            "highload ConsistentHashRing (crc32 option)": _loop(fast.get_node, keys),
        }, s)
        for case, paired in measured.items():
            rows.append(RatioRow(LOOKUPS, case, label, paired, target=1.2 if "md5" in case else None))
    return rows


# -- placement -------------------------------------------------------------------------------------
def _jump(h: np.ndarray, buckets: int) -> np.ndarray:
    key = h.copy()
    b = np.full(len(h), -1, dtype=np.int64)
    j = np.zeros(len(h), dtype=np.int64)
    active = j < buckets
    with np.errstate(over="ignore"):
        while active.any():
            b[active] = j[active]
            key[active] = key[active] * np.uint64(2862933555777941757) + np.uint64(1)
            j[active] = ((b[active] + 1) * (float(1 << 31) / ((key[active] >> np.uint64(33)) + np.uint64(1)).astype(np.float64))).astype(np.int64)
            active = j < buckets
    return b


def _owners(router, hashes: np.ndarray) -> np.ndarray:
    """Node index (into sorted(router.nodes)) of every key, from the router's own structures."""
    names = sorted(router.nodes)
    index = {n: i for i, n in enumerate(names)}
    if isinstance(router, ConsistentHashRing):
        pts = router.points()
        positions = np.array([p for p, _ in pts], dtype=np.uint64)
        owners = np.array([index[n] for _, n in pts])
        i = np.searchsorted(positions, hashes, side="left")
        return owners[np.where(i == len(positions), 0, i)]
    if isinstance(router, Maglev):
        table_ = np.array([index[n] for n in router.table])
        return table_[hashes % np.uint64(router.table_size)]
    if isinstance(router, JumpHash):
        order = np.array([index[n] for n in router._order])  # noqa: SLF001 - the bucket -> node order
        return order[_jump(hashes, len(router._order))]  # noqa: SLF001
    if isinstance(router, ModuloSharder):
        order = np.array([index[n] for n in router.names])
        return order[hashes % np.uint64(router.n)]
    raise TypeError(type(router))


def _check(router, keys, hashes, owners) -> None:
    names = sorted(router.nodes)
    for i in range(0, len(keys), max(1, len(keys) // 2000)):
        assert names[owners[i]] == router.get_node(keys[i]), f"vectorised lookup disagrees with get_node for {type(router).__name__}"


def _fast_stats(make, keys, hashes, sets: int) -> tuple[float, float]:
    moved, balance = [], []
    for trial in range(sets):
        names = _names(trial)
        old, new = make(names[:NODES]), make(names)
        a, b = _owners(old, hashes), _owners(new, hashes)
        if trial == 0:
            _check(old, keys, hashes, a)
            _check(new, keys, hashes, b)
        old_names, new_names = sorted(old.nodes), sorted(new.nodes)
        moved.append(np.count_nonzero(np.array(old_names)[a] != np.array(new_names)[b]) / len(keys) * (NODES + 1))
        balance.append(peak_to_mean(np.bincount(a, minlength=NODES).tolist()))
    return statistics.mean(moved), statistics.mean(balance)


def _names(trial: int) -> list[str]:
    rng = random.Random(trial)
    return [f"node-{rng.getrandbits(40):010x}" for _ in range(NODES + 1)]


def _slow_stats(make, keys, sets: int) -> tuple[float, float]:
    moved, balance = [], []
    for trial in range(sets):
        names = _names(trial)
        old, new = make(names[:NODES]), make(names)
        a = [old.get_node(k) for k in keys]
        b = [new.get_node(k) for k in keys]
        moved.append(sum(x != y for x, y in zip(a, b, strict=True)) / len(keys) * (NODES + 1))
        counts: dict[str, int] = {}
        for n in a:
            counts[n] = counts.get(n, 0) + 1
        balance.append(peak_to_mean(counts))
    return statistics.mean(moved), statistics.mean(balance)


def _uhashring_stats(keys, sets: int) -> tuple[float, float]:
    from uhashring import HashRing

    probe = HashRing(nodes=["x"], vnodes=POINTS)
    positions = [probe.hashi(k) for k in keys]  # the key's position does not depend on the nodes

    def owners(ring):
        ks, owner = ring.runtime._keys, ring.runtime._ring  # noqa: SLF001 - its own continuum
        out = []
        for p in positions:
            i = bisect(ks, p)
            out.append(owner[ks[0 if i == len(ks) else i]])
        return out

    moved, balance = [], []
    for trial in range(sets):
        names = _names(trial)
        old, new = HashRing(nodes=names[:NODES], vnodes=POINTS), HashRing(nodes=names, vnodes=POINTS)
        a, b = owners(old), owners(new)
        if trial == 0:
            assert all(a[i] == old.get_node(keys[i]) for i in range(0, len(keys), len(keys) // 500))
        moved.append(sum(x != y for x, y in zip(a, b, strict=True)) / len(keys) * (NODES + 1))
        counts: dict[str, int] = {}
        for n in a:
            counts[n] = counts.get(n, 0) + 1
        balance.append(peak_to_mean(counts))
    return statistics.mean(moved), statistics.mean(balance)


def _bounded(keys, sets: int) -> float:
    peaks = []
    for trial in range(sets):
        ring = BoundedLoadRing(_names(trial)[:NODES], epsilon=EPSILON)
        for k in keys:
            ring.assign(k)
        peaks.append(peak_to_mean(ring.loads))
    return statistics.mean(peaks)


def placement_rows(s: Settings) -> list[tuple[str, ...]]:
    sets, count = (2, 50_000) if s.quick else (SETS, KEYS)
    slow_sets, slow_count = (1, 5_000) if s.quick else (SLOW_SETS, SLOW_KEYS)
    progress(f"hashing {count:,} keys")
    keys = [f"key:{i}" for i in range(count)]
    hashes = np.array([md5_64(k) for k in keys], dtype=np.uint64)
    scope = f"{count // 1000:,}k keys x {sets} sets"
    slow_scope = f"{slow_count // 1000:,}k keys x {slow_sets} sets"
    rows = []

    def row(name, stats, scope_, moved_target=None, balance_target=None):
        moved, balance = stats
        ok = all(t is None or v <= t for v, t in ((moved, moved_target), (balance, balance_target)))
        targets = ", ".join(f"{what} <= {t:g}" for what, t in (("moved", moved_target), ("p/m", balance_target)) if t)
        rows.append((name, f"{moved:.3f}" if moved == moved else "-", f"{balance:.3f}", scope_, targets or "-",
                     ("PASS" if ok else "MISS") if targets else "info"))

    for name, make, mt, bt in [
        ("ring, md5, 100 vnodes (default)", lambda n: ConsistentHashRing(n), 1.05, None),
        ("ring, md5, 160 vnodes", lambda n: ConsistentHashRing(n, vnodes=160), None, None),
        ("jump", JumpHash, None, 1.02),
        ("Maglev (M = 65537)", Maglev, None, 1.02),
        ("% N", lambda n: ModuloSharder(len(n), names=n), None, None),
    ]:
        progress(name)
        row(name, _fast_stats(make, keys, hashes, sets), scope, mt, bt)
    progress("rendezvous")
    row("rendezvous (HRW)", _slow_stats(RendezvousHash, keys[:slow_count], slow_sets), slow_scope)
    progress("uhashring")
    row("uhashring (md5, 160 vnodes)", _uhashring_stats(keys[:count // 5 if not s.quick else count], sets),
        f"{(count // 5 if not s.quick else count) // 1000:,}k keys x {sets} sets")
    progress("bounded load")
    row(f"bounded load (eps = {EPSILON}), no moves on add", (float("nan"), _bounded(keys[:slow_count], slow_sets)),
        slow_scope, None, 1 + EPSILON)
    return rows


# -- Redis Cluster ---------------------------------------------------------------------------------
def cluster_rows(s: Settings) -> list[RatioRow]:
    import redis

    from highload.sharding.cluster import LocalCluster
    from highload.sharding.slots import key_slot

    rows = []
    batch = 200
    keys = [f"bench:{i}" for i in range(batch)]
    with LocalCluster(masters=3) as cluster, redis_server() as url:
        single = redis.Redis.from_url(url)
        clustered = cluster.client(decode_responses=False)

        def pipelined(client):
            def run(n: int) -> None:  # n pipelines of 200 SET + 200 GET
                for _ in range(n):
                    pipe = client.pipeline(transaction=False)
                    for k in keys:
                        pipe.set(k, "v")
                        pipe.get(k)
                    pipe.execute()
            return run

        progress("pipelined SET+GET: 3-master cluster vs one redis-server")
        measured = interleave_group(pipelined(single), {"RedisCluster pipeline, 3 masters": pipelined(clustered)}, s)
        rows += [RatioRow("pipelines/s (200 SET + 200 GET each)", case,
                          "redis-py Redis pipeline, one standalone redis-server", p) for case, p in measured.items()]
        owner = cluster.owner(key_slot("bench:0"))
        direct = redis.Redis(host="127.0.0.1", port=owner.port)
        clustered.set("bench:0", "v")

        def single_get(client):
            def run(n: int) -> None:
                for _ in range(n):
                    client.get("bench:0")
            return run

        progress("RedisCluster.get vs Redis.get on the owning node")
        measured = interleave_group(single_get(direct), {"RedisCluster.get(key)": single_get(clustered)}, s)
        rows += [RatioRow("one GET, same cluster node (client overhead)", case,
                          "redis-py Redis.get on the owning node", p) for case, p in measured.items()]
        for c in (single, clustered, direct):
            c.close()
    return rows


def run(s: Settings) -> int:
    print(f"python {platform.python_version()} | numpy {version('numpy')} | uhashring {version('uhashring')} | "
          f"redis-py {version('redis')} | redis-server {redis_server_version()}")
    print(f"{s.repeats} repeat(s) x {s.chunks} chunk(s) per side of ~{s.chunk_seconds * 1000:g} ms"
          + (" [--quick: smoke run, numbers are not meaningful]" if s.quick else ""))
    print("ratio = median over repeats of (highload ops/s / reference ops/s), sides interleaved\n")
    rows = lookup_rows(s)
    if shutil.which("redis-server") and shutil.which("redis-cli"):
        rows += cluster_rows(s)
    else:
        rows.append(RatioRow("Redis Cluster", "RedisCluster pipeline, 3 masters", "one redis-server",
                             skipped="redis-server/redis-cli not installed (apt-get install redis-server)"))
    print(ratio_table(rows, "ops/s"))
    print()
    placement = placement_rows(s)
    print("[placement: adding node 11 to 10, and load on 10 nodes (mean over random node-name sets)]")
    print(table(("router", "moved / ideal", "peak-to-mean", "measured on", "target", "status"), placement,
                numeric=frozenset({1, 2})))
    print()
    statuses = [r.status for r in rows] + [r[-1] for r in placement]
    print(", ".join(f"{statuses.count(k)} {k}" for k in ("PASS", "MISS", "SKIP", "info")))
    return 0
