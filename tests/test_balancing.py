"""highload.balancing: algorithms, health checks, the SimPy simulation and autoscaling."""

from __future__ import annotations

import random
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from highload.balancing import (
    ActiveHealth,
    AutoscalingPolicy,
    ConsistentHash,
    HealthyBalancer,
    LeastConnections,
    NoServerAvailable,
    PassiveHealth,
    PowerOfTwoChoices,
    RoundRobin,
    SmoothWeightedRoundRobin,
    compare,
    percentile,
    simulate,
    simulate_autoscaling,
)
from highload.clock import ManualClock

# ---------------------------------------------------------------- round robin


def test_round_robin_cycles_in_order():
    rr = RoundRobin(["a", "b", "c"])
    assert [rr.next() for _ in range(7)] == ["a", "b", "c", "a", "b", "c", "a"]


def test_round_robin_among_skips_excluded_servers():
    rr = RoundRobin(["a", "b", "c"])
    assert rr.next() == "a"
    assert rr.next(among={"a", "c"}) == "c"
    assert rr.next(among={"a", "c"}) == "a"
    assert rr.next() == "b"


def test_round_robin_among_nothing_raises():
    with pytest.raises(NoServerAvailable):
        RoundRobin(["a"]).next(among=[])


@pytest.mark.parametrize("cls", [RoundRobin, LeastConnections, PowerOfTwoChoices, ConsistentHash])
def test_empty_server_list_is_a_value_error(cls):
    with pytest.raises(ValueError, match="servers must not be empty"):
        cls([])


@pytest.mark.parametrize("cls", [RoundRobin, LeastConnections, ConsistentHash])
def test_duplicate_servers_are_a_value_error(cls):
    with pytest.raises(ValueError, match="distinct"):
        cls(["a", "a"])


def test_a_single_string_is_not_a_server_list():
    with pytest.raises(TypeError, match="single string"):
        RoundRobin("abc")


# ---------------------------------------------------- smooth weighted round robin


def test_swrr_first_seven_picks_for_5_1_1():
    lb = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    assert [lb.next() for _ in range(7)] == list("aabacaa")


def test_swrr_repeats_with_period_total_weight():
    lb = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    assert [lb.next() for _ in range(14)] == list("aabacaa" * 2)


def test_swrr_ties_go_to_the_earliest_in_mapping_order():
    assert SmoothWeightedRoundRobin({"x": 1, "y": 1}).next() == "x"
    assert SmoothWeightedRoundRobin({"y": 1, "x": 1}).next() == "y"
    lb = SmoothWeightedRoundRobin({"b": 2, "a": 2, "c": 1})
    assert [lb.next() for _ in range(5)] == ["b", "a", "c", "b", "a"]


def test_swrr_picked_weight_drops_by_the_total():
    # {a: 2, b: 1}: a(2-3=-1), b(-1+1... ) -> a b a, not a a b
    lb = SmoothWeightedRoundRobin({"a": 2, "b": 1})
    assert [lb.next() for _ in range(6)] == list("abaaba")


@given(weights=st.lists(st.integers(1, 6), min_size=1, max_size=5))
@settings(deadline=None, derandomize=True, database=None)
def test_swrr_matches_a_model_and_gives_each_server_its_weight(weights):
    mapping = {f"s{i}": w for i, w in enumerate(weights)}
    lb = SmoothWeightedRoundRobin(mapping)
    current = dict.fromkeys(mapping, 0)
    total = sum(weights)
    picks = []
    for _ in range(total):
        for s in current:
            current[s] += mapping[s]
        best = max(current, key=lambda s: (current[s], -list(mapping).index(s)))
        current[best] -= total
        picks.append(best)
        assert lb.next() == best
    assert {s: picks.count(s) for s in mapping} == mapping


def test_swrr_empty_mapping_is_a_value_error():
    with pytest.raises(ValueError, match="weights must not be empty"):
        SmoothWeightedRoundRobin({})


@pytest.mark.parametrize("weight", [0, -1])
def test_swrr_weight_below_one_is_a_value_error(weight):
    with pytest.raises(ValueError, match=rf"weights\['b'\] must be >= 1, got {weight}"):
        SmoothWeightedRoundRobin({"a": 1, "b": weight})


def test_swrr_non_int_weight_is_a_type_error():
    with pytest.raises(TypeError, match="weights"):
        SmoothWeightedRoundRobin({"a": 1.5})


def test_swrr_among_only_counts_available_servers():
    lb = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    assert [lb.next(among={"b", "c"}) for _ in range(4)] == list("bcbc")


# ---------------------------------------------------------- least connections


def test_least_connections_picks_fewest_active_ties_to_earliest():
    lc = LeastConnections(["a", "b", "c"])
    assert [lc.acquire() for _ in range(4)] == ["a", "b", "c", "a"]
    assert [lc.active(s) for s in "abc"] == [2, 1, 1]


def test_least_connections_release_frees_a_slot_that_is_picked_next():
    lc = LeastConnections(["a", "b", "c"])
    for _ in range(3):
        lc.acquire()
    lc.release("b")
    assert lc.active("b") == 0
    assert lc.acquire() == "b"


def test_release_without_active_connections_is_a_value_error():
    lc = LeastConnections(["a", "b"])
    with pytest.raises(ValueError, match="'a' has no active connections"):
        lc.release("a")
    assert lc.active("a") == 0


def test_release_or_active_of_unknown_server_is_a_value_error():
    lc = LeastConnections(["a"])
    with pytest.raises(ValueError, match="'zzz'"):
        lc.release("zzz")
    with pytest.raises(ValueError, match="'zzz'"):
        lc.active("zzz")


def test_least_connections_among_restricts_choice():
    lc = LeastConnections(["a", "b"])
    assert lc.acquire(among=["b"]) == "b"
    assert lc.acquire(among=["b"]) == "b"
    assert lc.active("b") == 2


def test_least_connections_is_thread_safe():
    lc = LeastConnections(["a", "b", "c"])

    def work():
        for _ in range(2000):
            lc.release(lc.acquire())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [lc.active(s) for s in "abc"] == [0, 0, 0]


# -------------------------------------------------------- power of two choices


def test_p2c_same_seed_same_picks():
    def picks(rng):
        p2c = PowerOfTwoChoices(list("abcdef"), rng=rng)
        out = []
        for i in range(50):
            out.append(p2c.acquire())
            if i % 3 == 0:
                p2c.release(out[-1])
        return out

    assert picks(42) == picks(42) == picks(random.Random(42))
    assert picks(42) != picks(43)


def test_p2c_takes_the_less_loaded_of_the_two():
    class TwoFixed(random.Random):
        def sample(self, population, k):
            return ["c", "a"]

    p2c = PowerOfTwoChoices(["a", "b", "c"], rng=TwoFixed())
    assert p2c.acquire() == "a"  # tie (0, 0): the earlier in pool order
    assert p2c.acquire() == "c"  # a has 1, c has 0
    assert p2c.active("a") == p2c.active("c") == 1


def test_p2c_never_picks_the_busier_of_two_servers():
    p2c = PowerOfTwoChoices(["a", "b"], rng=1)
    for _ in range(100):
        p2c.acquire()
        assert abs(p2c.active("a") - p2c.active("b")) <= 1


def test_p2c_single_candidate_is_taken():
    p2c = PowerOfTwoChoices(["a", "b"], rng=0)
    assert p2c.acquire(among=["b"]) == "b"


def test_p2c_rejects_a_bad_rng():
    with pytest.raises(TypeError, match="rng"):
        PowerOfTwoChoices(["a", "b"], rng="seed")


# ------------------------------------------------------------ consistent hash

KEYS = [f"user-{i}" for i in range(10_000)]


def test_consistent_hash_is_sticky_and_stable_across_instances():
    one, two = ConsistentHash(["a", "b", "c", "d"]), ConsistentHash(["d", "c", "b", "a"])
    assert [one.pick(k) for k in KEYS[:500]] == [two.pick(k) for k in KEYS[:500]]
    assert one.pick("10.0.0.7") == one.pick("10.0.0.7")


def test_consistent_hash_is_stable_across_processes():
    code = "from highload.balancing import ConsistentHash; print(ConsistentHash(['a','b','c']).pick('cart-1'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123"}).stdout.strip()
    assert out == ConsistentHash(["a", "b", "c"]).pick("cart-1")


def test_consistent_hash_spreads_keys_roughly_evenly():
    ring = ConsistentHash(["a", "b", "c", "d"])
    counts = {s: 0 for s in "abcd"}
    for k in KEYS:
        counts[ring.pick(k)] += 1
    assert all(1500 < n < 3500 for n in counts.values()), counts


def test_removing_a_server_moves_only_its_keys():
    ring = ConsistentHash(["a", "b", "c", "d"])
    before = {k: ring.pick(k) for k in KEYS}
    ring.remove("c")
    after = {k: ring.pick(k) for k in KEYS}
    moved = [k for k in KEYS if before[k] != after[k]]
    assert all(before[k] == "c" for k in moved)
    assert len(moved) == sum(1 for k in KEYS if before[k] == "c")
    assert 1500 < len(moved) < 3500


def test_adding_a_server_moves_keys_only_to_it():
    ring = ConsistentHash(["a", "b", "c", "d"])
    before = {k: ring.pick(k) for k in KEYS}
    ring.add("e")
    moved = [k for k in KEYS if ring.pick(k) != before[k]]
    assert all(ring.pick(k) == "e" for k in moved)
    assert 1000 < len(moved) < 3000


def test_consistent_hash_among_walks_to_the_next_allowed_server():
    ring = ConsistentHash(["a", "b", "c"])
    for key in KEYS[:200]:
        owner = ring.pick(key)
        others = {"a", "b", "c"} - {owner}
        fallback = ring.pick(key, among=others)
        assert fallback in others
        assert ring.pick(key, among=others) == fallback  # still sticky


def test_consistent_hash_errors():
    ring = ConsistentHash(["a"])
    with pytest.raises(ValueError, match="already on the ring"):
        ring.add("a")
    with pytest.raises(ValueError, match="at least one server"):
        ring.remove("a")
    with pytest.raises(ValueError, match="'b'"):
        ring.remove("b")
    with pytest.raises(ValueError, match="replicas must be >= 1, got 0"):
        ConsistentHash(["a"], replicas=0)
    with pytest.raises(TypeError, match="key"):
        ring.pick(42)


# -------------------------------------------------------------- passive health


def passive(**kwargs):
    clock = ManualClock()
    options = {"max_fails": 3, "fail_timeout": 30, "clock": clock} | kwargs
    return PassiveHealth(["a", "b"], **options), clock


def test_server_is_down_when_failures_reach_max_fails():
    health, clock = passive()
    health.report("a", ok=False)
    health.report("a", ok=False)
    assert health.available() == ["a", "b"]
    health.report("a", ok=False)
    assert health.available() == ["b"]
    assert not health.is_available("a")


def test_defaults_are_nginx_max_fails_1_fail_timeout_10():
    clock = ManualClock()
    health = PassiveHealth(["a", "b"], clock=clock)
    health.report("a", ok=False)
    assert health.available() == ["b"]
    clock.advance(9.75)
    assert health.available() == ["b"]
    clock.advance(0.25)
    assert health.available() == ["a", "b"]


def test_failures_older_than_fail_timeout_do_not_count():
    health, clock = passive()
    health.report("a", ok=False)  # t=0, counts until t<30
    clock.set(10)
    health.report("a", ok=False)
    clock.set(30)
    health.report("a", ok=False)  # the t=0 failure just expired
    assert health.is_available("a")


def test_failures_just_inside_fail_timeout_count():
    health, clock = passive()
    health.report("a", ok=False)
    clock.set(10)
    health.report("a", ok=False)
    clock.set(29.75)
    health.report("a", ok=False)
    assert not health.is_available("a")


def test_server_is_down_for_exactly_fail_timeout():
    health, clock = passive()
    clock.set(5)
    for _ in range(3):
        health.report("a", ok=False)
    clock.set(34.75)
    assert not health.is_available("a")
    clock.set(35)
    assert health.is_available("a")


def test_first_failure_after_coming_back_takes_the_server_down_again():
    health, clock = passive()
    for _ in range(3):
        health.report("a", ok=False)
    clock.set(30)
    assert health.is_available("a")
    health.report("a", ok=False)
    assert not health.is_available("a")
    clock.set(59.75)
    assert not health.is_available("a")
    clock.set(60)
    assert health.is_available("a")


def test_success_after_coming_back_clears_the_probation():
    health, clock = passive()
    for _ in range(3):
        health.report("a", ok=False)
    clock.set(30)
    health.report("a", ok=True)
    health.report("a", ok=False)
    health.report("a", ok=False)
    assert health.is_available("a")
    health.report("a", ok=False)
    assert not health.is_available("a")


def test_successes_do_not_erase_failures_inside_the_window():
    health, clock = passive()
    health.report("a", ok=False)
    health.report("a", ok=True)
    health.report("a", ok=False)
    health.report("a", ok=True)
    health.report("a", ok=False)
    assert not health.is_available("a")


def test_reports_while_down_do_not_extend_the_down_time():
    health, clock = passive(max_fails=1)
    health.report("a", ok=False)
    clock.set(20)
    health.report("a", ok=False)
    clock.set(30)
    assert health.is_available("a")


def test_max_fails_zero_disables_accounting():
    health, clock = passive(max_fails=0)
    for _ in range(100):
        health.report("a", ok=False)
    assert health.available() == ["a", "b"]


def test_backups_serve_only_when_every_primary_is_down():
    clock = ManualClock()
    health = PassiveHealth(["a", "b"], max_fails=1, fail_timeout=10, backup=["z"], clock=clock)
    assert health.available() == ["a", "b"]
    health.report("a", ok=False)
    assert health.available() == ["b"]
    health.report("b", ok=False)
    assert health.available() == ["z"]
    health.report("z", ok=False)
    assert health.available() == []
    clock.advance(10)
    assert health.available() == ["a", "b"]


def test_passive_health_errors():
    health, _ = passive()
    with pytest.raises(ValueError, match="'nope'"):
        health.report("nope", ok=False)
    with pytest.raises(TypeError, match="ok must be a bool"):
        health.report("a", ok=1)
    with pytest.raises(ValueError, match="fail_timeout must be > 0, got 0"):
        PassiveHealth(["a"], fail_timeout=0)
    with pytest.raises(ValueError, match="max_fails must be >= 0, got -1"):
        PassiveHealth(["a"], max_fails=-1)
    with pytest.raises(ValueError, match="both primary and backup"):
        PassiveHealth(["a"], backup=["a"])
    with pytest.raises(TypeError, match="clock"):
        PassiveHealth(["a"], clock=5)


def test_healthy_balancer_skips_down_servers_and_comes_back():
    clock = ManualClock()
    health = PassiveHealth(["a", "b", "c"], max_fails=1, fail_timeout=10, clock=clock)
    lb = HealthyBalancer(RoundRobin(["a", "b", "c"]), health)
    lb.report("b", ok=False)
    assert [lb.acquire() for _ in range(4)] == ["a", "c", "a", "c"]
    clock.advance(10)
    assert [lb.acquire() for _ in range(3)] == ["a", "b", "c"]


def test_healthy_balancer_uses_backups_and_raises_when_all_are_down():
    clock = ManualClock()
    health = PassiveHealth(["a"], max_fails=1, fail_timeout=10, backup=["z"], clock=clock)
    lb = HealthyBalancer(LeastConnections(["a", "z"]), health)
    lb.report("a", ok=False)
    server = lb.acquire()
    assert server == "z"
    lb.release(server)
    lb.report("z", ok=False)
    with pytest.raises(NoServerAvailable):
        lb.acquire()


def test_healthy_balancer_keeps_consistent_hash_sticky_around_a_down_server():
    clock = ManualClock()
    ring = ConsistentHash(["a", "b", "c"])
    health = PassiveHealth(["a", "b", "c"], max_fails=1, fail_timeout=10, clock=clock)
    lb = HealthyBalancer(ring, health)
    keys = KEYS[:300]
    owners = {k: lb.pick(k) for k in keys}
    health.report("a", ok=False)
    assert all(lb.pick(k) == owners[k] for k in keys if owners[k] != "a")
    assert all(lb.pick(k) != "a" for k in keys)
    clock.advance(10)
    assert {k: lb.pick(k) for k in keys} == owners


# --------------------------------------------------------------- active health


class Probe:
    def __init__(self):
        self.results: dict[str, list] = {}
        self.calls: list[str] = []

    def __call__(self, server):
        self.calls.append(server)
        outcome = self.results.get(server, [True]).pop(0) if self.results.get(server) else True
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def active(**kwargs):
    clock = ManualClock()
    probe = Probe()
    options = {"interval": 5, "rise": 2, "fall": 3, "clock": clock} | kwargs
    return ActiveHealth(probe, ["a", "b"], **options), probe, clock


def test_first_tick_checks_every_server_and_servers_start_up():
    health, probe, _ = active()
    assert health.available() == ["a", "b"]
    assert health.tick() == {"a": True, "b": True}
    assert probe.calls == ["a", "b"]


def test_checks_are_due_every_interval_exactly():
    health, probe, clock = active()
    health.tick()
    clock.set(4.75)
    assert health.tick() == {}
    clock.set(5)
    assert health.tick() == {"a": True, "b": True}
    assert len(probe.calls) == 4


def test_a_late_tick_runs_each_check_once_and_reschedules_from_now():
    health, probe, clock = active()
    health.tick()
    clock.set(23)
    assert health.tick() == {"a": True, "b": True}
    clock.set(27.75)
    assert health.tick() == {}
    clock.set(28)
    assert set(health.tick()) == {"a", "b"}


def test_server_goes_down_after_fall_consecutive_failures():
    health, probe, clock = active()
    probe.results["a"] = [False, False, False]
    for i in range(2):
        clock.set(5 * i)
        health.tick()
    assert health.is_available("a")
    clock.set(10)
    health.tick()
    assert health.available() == ["b"]


def test_a_success_breaks_the_failure_streak():
    health, probe, clock = active()
    probe.results["a"] = [False, False, True, False, False]
    for i in range(5):
        clock.set(5 * i)
        health.tick()
    assert health.is_available("a")


def test_server_comes_back_after_rise_consecutive_successes():
    health, probe, clock = active(fall=1)
    probe.results["a"] = [False, True, False, True, True]
    expected = [False, False, False, False, True]
    for i, up in enumerate(expected):
        clock.set(5 * i)
        health.tick()
        assert health.is_available("a") is up, i


def test_a_check_that_raises_counts_as_failed():
    health, probe, clock = active(fall=1)
    probe.results["a"] = [ConnectionError("refused")]
    assert health.tick()["a"] is False
    assert not health.is_available("a")


def test_active_health_errors():
    with pytest.raises(ValueError, match="interval must be > 0, got 0"):
        ActiveHealth(lambda s: True, ["a"], interval=0)
    with pytest.raises(ValueError, match="rise must be >= 1, got 0"):
        ActiveHealth(lambda s: True, ["a"], rise=0)
    with pytest.raises(ValueError, match="fall must be >= 1, got 0"):
        ActiveHealth(lambda s: True, ["a"], fall=0)
    with pytest.raises(TypeError, match="check"):
        ActiveHealth(None, ["a"])
    with pytest.raises(ValueError, match="'x'"):
        ActiveHealth(lambda s: True, ["a"]).is_available("x")


def test_active_health_drives_a_balancer():
    health, probe, clock = active(fall=1)
    lb = HealthyBalancer(RoundRobin(["a", "b"]), health)
    probe.results["b"] = [False]
    health.tick()
    assert [lb.acquire() for _ in range(3)] == ["a", "a", "a"]


# ------------------------------------------------------------------ simulation

SPEEDS = [1, 1, 4]
LOAD = 5.4  # 90% of the total capacity of 6 req/s

ALGORITHMS = {
    "round_robin": RoundRobin,
    "least_connections": LeastConnections,
    "p2c": lambda servers: PowerOfTwoChoices(servers, rng=7),
}


@pytest.fixture(scope="module")
def table():
    return compare(ALGORITHMS, SPEEDS, arrival_rate=LOAD, duration=1000, seed=11)


def test_least_connections_and_p2c_beat_round_robin_on_heterogeneous_servers(table):
    assert table["least_connections"]["p99"] < table["round_robin"]["p99"] / 5
    assert table["p2c"]["p99"] < table["round_robin"]["p99"] / 5


def test_every_algorithm_faces_the_same_requests(table):
    assert len({row["requests"] for row in table.values()}) == 1


def test_round_robin_splits_evenly_and_least_connections_favours_the_fast_server(table):
    rr = [table["round_robin"][f"n[s{i}]"] for i in range(3)]
    assert max(rr) - min(rr) <= 1
    lc = table["least_connections"]
    assert lc["n[s2]"] > lc["n[s0]"] + lc["n[s1]"]


def test_simulation_is_reproducible_for_a_seed():
    one = simulate(LeastConnections, SPEEDS, 4, 200, seed=3)
    two = simulate(LeastConnections, SPEEDS, 4, 200, seed=3)
    three = simulate(LeastConnections, SPEEDS, 4, 200, seed=4)
    assert one == two
    assert one.latencies != three.latencies


def test_simulation_counts_and_percentiles_are_consistent():
    result = simulate(RoundRobin, [2, 2], 2, 300, seed=1)
    assert sum(result.counts.values()) == result.requests
    assert 0 < result.p50 <= result.p95 <= result.p99 <= max(result.latencies)
    assert result.p99 == percentile(result.latencies, 99)


def test_least_connections_connections_are_all_released_after_the_run():
    pools = []

    def factory(servers):
        pools.append(LeastConnections(servers))
        return pools[-1]

    simulate(factory, SPEEDS, 5, 100, seed=2)
    assert [pools[0].active(s) for s in pools[0].servers] == [0, 0, 0]


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_simulation_errors_name_the_parameter():
    with pytest.raises(ValueError, match="arrival_rate must be > 0"):
        simulate(RoundRobin, SPEEDS, 0, 10)
    with pytest.raises(ValueError, match="server_speeds must not be empty"):
        simulate(RoundRobin, [], 1, 10)
    with pytest.raises(ValueError, match=r"server_speeds\[\] must be > 0"):
        simulate(RoundRobin, [1, 0], 1, 10)


def test_simulation_without_simpy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "simpy", None)
    with pytest.raises(ImportError, match=r'pip install "highload\[sim\]"'):
        simulate(RoundRobin, SPEEDS, 1, 10)


def test_balancing_imports_without_simpy():
    code = "import sys; sys.modules['simpy'] = None; import highload.balancing as b; print(b.RoundRobin(['a']).next())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "a"


# ----------------------------------------------------------------- autoscaling


def test_high_cpu_for_299_seconds_changes_nothing():
    policy = AutoscalingPolicy()
    assert policy.decide(0, 0.8) == 0
    assert policy.decide(299, 0.8) == 0
    assert policy.servers == 1


def test_high_cpu_for_300_seconds_adds_a_server():
    policy = AutoscalingPolicy()
    policy.decide(0, 0.8)
    assert policy.decide(300, 0.8) == 1
    assert policy.servers == 2


def test_the_timer_restarts_after_scaling_out():
    policy = AutoscalingPolicy()
    policy.decide(0, 0.8)
    policy.decide(300, 0.8)
    assert policy.decide(599, 0.8) == 0
    assert policy.decide(600, 0.8) == 1
    assert policy.servers == 3


def test_a_dip_below_the_threshold_restarts_the_timer():
    policy = AutoscalingPolicy()
    policy.decide(0, 0.8)
    policy.decide(120, 0.5)
    policy.decide(180, 0.8)
    assert policy.decide(300, 0.8) == 0
    assert policy.decide(479, 0.8) == 0
    assert policy.decide(480, 0.8) == 1


def test_exactly_at_the_threshold_is_not_above():
    policy = AutoscalingPolicy()
    policy.decide(0, 0.70)
    assert policy.decide(300, 0.70) == 0
    policy.decide(300, 0.71)
    assert policy.decide(600, 0.71) == 1


def test_low_cpu_for_600_seconds_removes_a_server():
    policy = AutoscalingPolicy(initial_servers=3)
    assert policy.decide(0, 0.2) == 0
    assert policy.decide(599, 0.2) == 0
    assert policy.decide(600, 0.2) == -1
    assert policy.servers == 2
    assert policy.decide(1199, 0.2) == 0
    assert policy.decide(1200, 0.2) == -1


def test_exactly_30_percent_is_not_below():
    policy = AutoscalingPolicy(initial_servers=3)
    policy.decide(0, 0.30)
    assert policy.decide(600, 0.30) == 0


def test_a_spike_restarts_the_scale_in_timer():
    policy = AutoscalingPolicy(initial_servers=3)
    policy.decide(0, 0.2)
    policy.decide(300, 0.9)
    policy.decide(360, 0.2)
    assert policy.decide(900, 0.2) == 0
    assert policy.decide(960, 0.2) == -1


def test_never_below_min_servers():
    policy = AutoscalingPolicy(min_servers=2)
    policy.decide(0, 0.1)
    assert policy.decide(600, 0.1) == 0
    assert policy.decide(6000, 0.1) == 0
    assert policy.servers == 2


def test_never_above_max_servers():
    policy = AutoscalingPolicy(max_servers=2)
    policy.decide(0, 0.9)
    assert policy.decide(300, 0.9) == 1
    assert policy.decide(600, 0.9) == 0
    assert policy.decide(6000, 0.9) == 0
    assert policy.servers == 2


def test_cooldown_blocks_steps_until_it_passes():
    policy = AutoscalingPolicy(scale_out_after=60, cooldown=180)
    policy.decide(0, 0.9)
    assert policy.decide(60, 0.9) == 1
    assert policy.decide(120, 0.9) == 0
    assert policy.decide(239, 0.9) == 0
    assert policy.decide(240, 0.9) == 1


def test_autoscaling_policy_errors():
    with pytest.raises(ValueError, match="max_servers must be >= min_servers"):
        AutoscalingPolicy(min_servers=3, max_servers=2)
    with pytest.raises(ValueError, match="min_servers must be >= 1, got 0"):
        AutoscalingPolicy(min_servers=0)
    with pytest.raises(ValueError, match="scale_in_below must be < scale_out_above"):
        AutoscalingPolicy(scale_out_above=0.3, scale_in_below=0.5)
    with pytest.raises(ValueError, match="initial_servers must be <= max_servers"):
        AutoscalingPolicy(max_servers=2, initial_servers=3)
    with pytest.raises(TypeError, match="cpu"):
        AutoscalingPolicy().decide(0, "high")


@given(cpus=st.lists(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9]), max_size=80))
@settings(deadline=None, derandomize=True, database=None)
def test_servers_stay_within_bounds_for_any_cpu_series(cpus):
    policy = AutoscalingPolicy(min_servers=2, max_servers=4, scale_out_after=120, scale_in_after=180)
    for i, cpu in enumerate(cpus):
        step = policy.decide(60 * i, cpu)
        assert step in (-1, 0, 1)
        assert 2 <= policy.servers <= 4


def test_simulate_autoscaling_follows_a_flash_sale():
    def load(t):  # 900 req/s, a flash sale at 3000 req/s from t=600 to 1800, then 200 req/s
        return 3000 if 600 <= t < 1800 else (900 if t < 600 else 200)

    samples = simulate_autoscaling(load, per_server_capacity=1000, duration=3600,
                                   policy=AutoscalingPolicy(initial_servers=2))
    assert samples[0] == (0.0, 2, 0.45)
    assert len(samples) == 61
    servers = {t: n for t, n, _ in samples}
    assert servers[600] == 2 and servers[900] == 2 and servers[960] == 3
    assert servers[1800] >= 4
    assert servers[3600] < servers[1800]
    assert all(0 <= cpu <= 1 for _, _, cpu in samples)


def test_simulate_autoscaling_caps_cpu_at_one_and_uses_the_policy_bounds():
    samples = simulate_autoscaling(lambda t: 10_000, per_server_capacity=100, duration=3600,
                                   step=60, policy=AutoscalingPolicy(max_servers=3))
    assert samples[0].cpu == 1.0
    assert max(s.servers for s in samples) == 3
