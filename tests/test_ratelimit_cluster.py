"""The rate limiter on a real Redis Cluster (conftest's session-wide ``redis_cluster``).

The single-key contract runs there through conftest's ``redis_client`` fixture (its
"redis-cluster" param). Here: ``check_all`` over limits in different slots, which is slot by slot
with refunds on a cluster, decides exactly as the one atomic check does when nothing else
runs; under contention it never over-admits and its refunds return everything they should.
The refund script's edge cases run on every Redis (``redis_client``): it needs no cluster.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import RedisClusterException

from highload._lua import evalsha
from highload.clock import ManualClock
from highload.ratelimit import (
    MemoryStorage,
    RateLimiter,
    RedisStorage,
    TokenBucketPolicy,
    allow_all,
    check_all,
)
from highload.sharding.slots import key_slot

from .test_ratelimit_contract import EXACT, POLICIES, assert_same

pytestmark = pytest.mark.redis

# Forward-only clock steps: with a clock that steps back, a refund on a window limit may give
# nothing back (it cannot tell which window the check counted in), by design tighter, not looser.
FORWARD = st.lists(st.tuples(st.integers(0, 12).map(lambda n: n * 0.25), st.sampled_from([1, 1, 2, 3])),
                   min_size=1, max_size=25)


@pytest.fixture
def cluster_client(redis_cluster):
    client = redis_cluster.client(decode_responses=False)
    yield client
    client.close()


def _limits(storage, clock, picks, tag):
    return [(RateLimiter(POLICIES[p], storage, clock=clock), f"{tag}:{i}") for i, p in enumerate(picks)]


def test_check_all_across_slots_decides_as_one_atomic_check(cluster_client):
    storage = RedisStorage(cluster_client)
    assert storage.cluster

    @EXACT
    @given(picks=st.lists(st.integers(0, len(POLICIES) - 1), min_size=2, max_size=3), steps=FORWARD)
    def run(picks, steps):
        clock = ManualClock(1000.0)
        tag = uuid.uuid4().hex
        on_cluster, in_memory = _limits(storage, clock, picks, tag), _limits(MemoryStorage(), clock, picks, tag)
        assert len({key_slot(lim._view.prefix + key) for lim, key in on_cluster}) == len(picks)
        for move, cost in steps:
            clock.set(clock() + move)
            assert_same(check_all(on_cluster, cost), check_all(in_memory, cost))
            assert allow_all(on_cluster, cost) == allow_all(in_memory, cost)

    run()


def test_check_all_under_contention_never_over_admits_and_refunds_exactly(redis_cluster):
    # Buckets that never refill, one fixed instant: whatever the interleaving, each limit must
    # end with exactly capacity - admitted tokens (a lost refund or a double one would show).
    # The tightest limit is in the last slot, so every refusal first consumes, then refunds.
    tag = uuid.uuid4().hex
    prefixes = sorted((f"rl:{tag}:{i}:" for i in range(3)), key=lambda p: key_slot(p + "k"))
    capacities = (40, 25, 15)
    admitted, lock = [0], threading.Lock()

    def limits(client):
        storage, clock = RedisStorage(client), ManualClock(0.0)
        return [(RateLimiter(TokenBucketPolicy(c, 0), storage, clock=clock, prefix=p), "k")
                for p, c in zip(prefixes, capacities, strict=True)]

    def worker():
        client = redis_cluster.client(decode_responses=False)
        checks = limits(client)
        for _ in range(30):
            if allow_all(checks):
                with lock:
                    admitted[0] += 1
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    client = redis_cluster.client(decode_responses=False)
    assert 0 < admitted[0] <= min(capacities), "never more than the tightest limit admits"
    # a check too big to fit reads the tokens left without taking any
    left = [lim.check(key, 1000).remaining for lim, key in limits(client)]
    assert left == [c - admitted[0] for c in capacities]
    client.close()


def test_a_cross_slot_script_is_refused_by_the_client_so_check_all_never_sends_one(cluster_client):
    storage = RedisStorage(cluster_client)
    limiter = RateLimiter(TokenBucketPolicy(5, 1), storage, clock=ManualClock(0.0))
    keys = [limiter._view.prefix + k for k in ("a", "b")]
    assert key_slot(keys[0]) != key_slot(keys[1])
    with pytest.raises(RedisClusterException, match="same key slot"):
        evalsha(storage._multi_script, keys, [0.0, 1, *limiter._view.multi_params * 2])
    # The same two limits through check_all: grouped by slot, so nothing is refused.
    assert all(d.allowed for d in check_all([(limiter, "a"), (limiter, "b")]))


def test_keys_sharing_a_hash_tag_stay_one_atomic_script(cluster_client):
    storage = RedisStorage(cluster_client)
    clock = ManualClock(0.0)
    minute = RateLimiter(TokenBucketPolicy(2, 0, name="per-minute"), storage, clock=clock, prefix="rl:{user:42}:m:")
    day = RateLimiter(TokenBucketPolicy(3, 0, name="per-day"), storage, clock=clock, prefix="rl:{user:42}:d:")
    calls = []
    storage._settle_script = storage._settle_brief_script = calls  # any refund would fail loudly
    checks = [(minute, "k"), (day, "k")]
    assert [allow_all(checks) for _ in range(3)] == [True, True, False]
    assert [d.remaining for d in check_all(checks)] == [0, 1]


@pytest.mark.parametrize("policy", POLICIES, ids=[f"{p.algorithm}" for p in POLICIES])
def test_a_refusal_in_a_later_slot_gives_back_what_an_earlier_slot_took(policy, cluster_client):
    # The limit under test sits in the earlier slot, a drained bucket in the later one: every
    # check_all consumes on the limit, is refused by the bucket, and must refund exactly, both
    # into an entry it started (a fresh instant) and one it joined (an instant already used).
    tag = uuid.uuid4().hex
    first, second = sorted((f"rl:{tag}:{i}:" for i in range(2)), key=lambda p: key_slot(p + "k"))
    assert key_slot(first + "k") != key_slot(second + "k")
    clock = ManualClock(1000.0)
    pairs = []
    for storage in (RedisStorage(cluster_client), MemoryStorage()):
        limit = RateLimiter(policy, storage, clock=clock, prefix=first)
        blocker = RateLimiter(TokenBucketPolicy(1, 0), storage, clock=clock, prefix=second)
        assert blocker.allow("k")
        pairs.append((limit, [(limit, "k"), (blocker, "k")]))
    (on_cluster, cluster_checks), (in_memory, memory_checks) = pairs
    for move, used, cost in [(0, 0, 1), (0, 1, 2), (0.25, 1, 1), (0.25, 0, 3), (1.0, 2, 1), (4.0, 0, 2), (0, 1, 1)]:
        clock.set(clock() + move)
        if used:
            assert_same([on_cluster.check("k", used)], [in_memory.check("k", used)])
        assert_same(check_all(cluster_checks, cost), check_all(memory_checks, cost))
        assert allow_all(cluster_checks, cost) is allow_all(memory_checks, cost) is False
        assert_same([on_cluster.check("k", 1000)], [in_memory.check("k", 1000)])


def test_on_one_redis_check_all_stays_one_script_call(redis_url):
    # Cluster support is decided when the storage is built: a plain client keeps the one-EVALSHA path.
    import redis

    client = redis.Redis.from_url(redis_url)
    storage, clock, tag = RedisStorage(client), ManualClock(0.0), uuid.uuid4().hex
    assert storage.cluster is False
    checks = [(RateLimiter(policy, storage, clock=clock, prefix=f"{tag}:{i}:"), "k") for i, policy in enumerate(POLICIES)]
    check_all(checks)  # each script is loaded (NOSCRIPT, SCRIPT LOAD, EVALSHA) on first use
    allow_all(checks)
    before = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    check_all(checks)
    allow_all(checks)
    assert client.info("commandstats")["cmdstat_evalsha"]["calls"] - before == 2
    client.close()


@pytest.mark.parametrize(("entries", "want"), [
    # ours joined an instant someone else used: take our units out, shift the later totals
    (["10 0 2", "12 2 5", "13 5 6"], ["10 0 2", "12 2 3", "13 3 4"]),
    # ours is the whole entry: remove it, shift the later totals
    (["10 0 2", "12 2 4", "13 4 5"], ["10 0 2", "13 2 3"]),
    # no entry at the check's instant (the key's clock ran ahead): give nothing back
    (["10 0 2", "13 2 5"], ["10 0 2", "13 2 5"]),
], ids=["shared-instant", "own-entry", "not-found"])
def test_sliding_log_refund_edits_only_the_checks_instant(entries, want, redis_client):
    from highload.ratelimit import SlidingWindowLogPolicy, scripts

    policy = SlidingWindowLogPolicy(limit=10, window=4)
    key = f"log:{uuid.uuid4().hex}"
    params = RateLimiter(policy, RedisStorage(redis_client))._view.multi_params
    fingerprint = params[-1].decode()  # entries end with the fingerprint of the policy that wrote them
    redis_client.rpush(key, *(f"{e} {fingerprint}" for e in entries))
    settle = redis_client.register_script(scripts.settle(brief=True))
    settle([key], [12.0, 2, b"1", *params])
    got = [e.decode() if isinstance(e, bytes) else e for e in redis_client.lrange(key, 0, -1)]
    assert got == [f"{e} {fingerprint}" for e in want]


def test_a_sliding_log_refund_leaves_another_policys_log_alone(redis_client):
    from highload.ratelimit import SlidingWindowLogPolicy, scripts

    key, theirs = f"log:{uuid.uuid4().hex}", ["10 0 2 0123456789ab", "12 2 5 0123456789ab"]
    redis_client.rpush(key, *theirs)
    settle = redis_client.register_script(scripts.settle(brief=True))
    params = RateLimiter(SlidingWindowLogPolicy(limit=10, window=4), RedisStorage(redis_client))._view.multi_params
    settle([key], [12.0, 2, b"1", *params])
    assert [e.decode() if isinstance(e, bytes) else e for e in redis_client.lrange(key, 0, -1)] == theirs


@pytest.mark.parametrize("policy", [p for p in POLICIES if "window" in p.algorithm], ids=lambda p: p.algorithm)
def test_a_window_refund_gives_nothing_back_once_the_window_moved_on(policy, redis_client):
    # Another client's clock ran ahead and counted in a later window: a refund at our (earlier)
    # instant cannot tell which window held our units, so it takes nothing from that one.
    from highload.ratelimit import scripts

    clock = ManualClock(1005.0)
    limiter = RateLimiter(policy, RedisStorage(redis_client), clock=clock, prefix=f"{uuid.uuid4().hex}:")
    assert limiter.allow("k")
    before = limiter.check("k", 1000).remaining
    settle = redis_client.register_script(scripts.settle(brief=True))
    settle([limiter._view.prefix + "k"], [1001.0, 1, b"1", *limiter._view.multi_params])
    assert limiter.check("k", 1000).remaining == before
