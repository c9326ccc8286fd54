"""Hidden suite: SmoothWeightedRoundRobin and LeastConnections — one test per clause of the contract.

The target is a module (``--target highload.balancing``), or any object with both names: in a
notebook, ``sys.modules["__main__"]`` or a ``types.SimpleNamespace``. Model-based tests compare
the target with a tiny model written below, on random weights and random operation sequences.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING

#: The names this suite reads from its target; the runner checks them in grading mode.
TARGET_NAMES = ("SmoothWeightedRoundRobin", "LeastConnections")

smooth = pytest.mark.group("smooth_weighted")
least = pytest.mark.group("least_connections")


def _name(target, name):
    found = getattr(target, name, None)
    assert found is not None, f"the target must provide {name} (a module or namespace with that name)"
    return found


@pytest.fixture
def swrr(target):
    return _name(target, "SmoothWeightedRoundRobin")


@pytest.fixture
def lc(target):
    return _name(target, "LeastConnections")


def swrr_model(weights, picks):
    """nginx: grow every current weight by its weight, pick the largest (earliest on ties), drop it by the total."""
    names, total = list(weights), sum(weights.values())
    current = dict.fromkeys(names, 0)
    out = []
    for _ in range(picks):
        for name in names:
            current[name] += weights[name]
        best = max(names, key=current.__getitem__)  # max keeps the first of equal maxima
        current[best] -= total
        out.append(best)
    return out


def picks(balancer, n):
    return [balancer.next() for _ in range(n)]


class Weights(Mapping):
    """A read-only Mapping that is not a dict."""

    def __init__(self, pairs):
        self._pairs = dict(pairs)

    def __getitem__(self, key):
        return self._pairs[key]

    def __iter__(self):
        return iter(self._pairs)

    def __len__(self):
        return len(self._pairs)


# -- smooth weighted round robin ------------------------------------------------------------------
@smooth
def test_nginx_example_first_seven_picks(swrr):
    got = picks(swrr({"a": 5, "b": 1, "c": 1}), 7)
    assert got == list("aabacaa"), f"for a=5, b=1, c=1 the first seven picks are a a b a c a a, got {got}"


@smooth
def test_next_returns_a_server_name(swrr):
    pick = swrr({"alpha": 2, "beta": 1}).next()
    assert type(pick) is str and pick == "alpha", "next() must return the picked server's name (a str)"


@smooth
def test_one_cycle_picks_each_server_weight_times(swrr):
    weights = {"x": 3, "y": 2, "z": 1}
    got = picks(swrr(weights), 6)
    assert {s: got.count(s) for s in weights} == weights, \
        f"over sum(weights) = 6 picks each server is picked `weight` times, got {got}"


@smooth
def test_sequence_repeats_every_total_picks(swrr):
    got = picks(swrr({"a": 4, "b": 3, "c": 2}), 27)
    assert got[:9] == got[9:18] == got[18:], "after sum(weights) picks every current weight is back to 0"


@smooth
def test_picks_are_spread_not_bursty(swrr):
    got = picks(swrr({"a": 2, "b": 2, "c": 1}), 5)
    assert got == list("abcab"), f"smooth WRR interleaves: a=2, b=2, c=1 gives a b c a b, got {got}"


@smooth
def test_picked_server_drops_by_the_total(swrr):
    got = picks(swrr({"a": 3, "b": 2}), 5)
    assert got == list("ababa"), \
        f"a=3, b=2 (total 5): currents (3,2) a -> (-2,2), (1,4) b -> (1,-1), (4,1) a ...: a b a b a, got {got}"


@smooth
def test_ties_go_to_the_earliest_in_mapping_order(swrr):
    got = picks(swrr({"c": 1, "a": 1, "b": 1}), 6)
    assert got == list("cabcab"), f"equal weights tie every time: the earliest in mapping order wins, got {got}"


@smooth
def test_tie_after_the_first_pick_goes_to_the_earliest(swrr):
    got = picks(swrr({"a": 3, "b": 1, "c": 1}), 5)
    assert got == list("abaca"), f"a=3, b=1, c=1: b and c tie on the second pick and b comes first, got {got}"


@smooth
def test_single_server_is_always_picked(swrr):
    assert picks(swrr({"only": 7}), 10) == ["only"] * 10, "one server must always be picked"


@smooth
def test_weight_one_is_valid(swrr):
    assert picks(swrr({"a": 1, "b": 1}), 4) == list("abab"), "weight 1 is the smallest valid weight"


@smooth
def test_accepts_any_mapping(swrr):
    got = picks(swrr(Weights([("a", 5), ("b", 1), ("c", 1)])), 7)
    assert got == list("aabacaa"), "weights may be any Mapping, not only a dict"


@smooth
def test_weighted_balancers_do_not_share_state(swrr):
    first, second = swrr({"a": 1, "b": 1}), swrr({"a": 1, "b": 1})
    assert first.next() == "a" and second.next() == "a", "each balancer keeps its own current weights"
    assert first.next() == "b" and second.next() == "b"


@smooth
def test_empty_mapping_is_a_value_error(swrr):
    with pytest.raises(ValueError):
        swrr({})


@smooth
@pytest.mark.parametrize("weight", [0, -1])
def test_weight_below_one_is_a_value_error(swrr, weight):
    with pytest.raises(ValueError):
        swrr({"a": 3, "b": weight})


@smooth
@GRADING
@given(weights=st.lists(st.integers(1, 9), min_size=1, max_size=5).map(
    lambda ws: {f"s{i}": w for i, w in reversed(list(enumerate(ws)))}),
    n=st.integers(1, 60))
def test_matches_nginx_on_random_weights(swrr, weights, n):
    want = swrr_model(weights, n)
    got = picks(swrr(weights), n)
    assert got == want, f"weights {weights}: the first {n} picks must be {want}, got {got}"


# -- least connections ----------------------------------------------------------------------------
@least
def test_new_servers_have_no_active_connections(lc):
    balancer = lc(["a", "b", "c"])
    assert [balancer.active(s) for s in "abc"] == [0, 0, 0], "a new balancer has no active connections"


@least
def test_acquire_returns_a_server_name(lc):
    pick = lc(["web1", "web2"]).acquire()
    assert type(pick) is str and pick == "web1", "acquire() must return the server's name (a str)"


@least
def test_acquire_counts_the_connection_active(lc):
    balancer = lc(["a", "b"])
    server = balancer.acquire()
    assert balancer.active(server) == 1, "the acquired server must count one active connection"
    assert balancer.active("b") == 0, "the other server must stay at 0"


@least
def test_ties_go_to_the_earliest(lc):
    balancer = lc(["c", "a", "b"])
    assert balancer.acquire() == "c", "all at 0: the earliest server in the sequence wins"
    assert [balancer.acquire(), balancer.acquire()] == ["a", "b"], "then the earliest of those still at 0"
    assert balancer.acquire() == "c", "all at 1 again: the earliest wins"


@least
def test_acquire_picks_the_fewest_active(lc):
    balancer = lc(["a", "b", "c"])
    for _ in range(6):
        balancer.acquire()  # a, b, c, a, b, c: two each
    balancer.release("b")
    assert balancer.acquire() == "b", "b has 1 active, a and c have 2: b must be picked"
    balancer.release("c")
    balancer.release("c")
    assert balancer.acquire() == "c", "c has 0 active: c must be picked"


@least
def test_release_ends_one_connection(lc):
    balancer = lc(["a"])
    for _ in range(3):
        balancer.acquire()
    balancer.release("a")
    assert balancer.active("a") == 2, "release ends exactly one connection: 3 - 1 = 2"
    balancer.release("a")
    balancer.release("a")
    assert balancer.active("a") == 0


@least
def test_release_without_active_connections_is_a_value_error(lc):
    balancer = lc(["a", "b"])
    with pytest.raises(ValueError):
        balancer.release("a")


@least
def test_release_after_all_released_is_a_value_error(lc):
    balancer = lc(["a", "b"])
    balancer.acquire()
    balancer.release("a")
    with pytest.raises(ValueError):
        balancer.release("a")


@least
def test_failed_release_changes_nothing(lc):
    balancer = lc(["a", "b"])
    with pytest.raises(ValueError):
        balancer.release("a")
    assert balancer.active("a") == 0, "a rejected release must not push the count below 0"
    assert balancer.acquire() == "a", "and must not change which server is picked next"


@least
def test_single_server_takes_every_connection(lc):
    balancer = lc(["only"])
    assert [balancer.acquire() for _ in range(4)] == ["only"] * 4
    assert balancer.active("only") == 4, "every acquire counts"


@least
def test_accepts_a_tuple(lc):
    balancer = lc(("x", "y"))
    assert [balancer.acquire(), balancer.acquire()] == ["x", "y"], "servers may be any Sequence"


@least
def test_connection_counts_are_per_balancer(lc):
    first, second = lc(["a", "b"]), lc(["a", "b"])
    first.acquire()
    assert second.active("a") == 0 and second.acquire() == "a", "each balancer keeps its own counts"


_ops = st.lists(st.tuples(st.sampled_from(["acquire", "release", "active"]), st.integers(0, 3)), max_size=60)


@least
@GRADING
@given(size=st.integers(1, 4), ops=_ops)
def test_matches_a_model_on_random_operations(lc, size, ops):
    servers = [f"s{i}" for i in range(size)]
    balancer, model = lc(servers), dict.fromkeys(servers, 0)
    for op, index in ops:
        server = servers[index % size]
        if op == "acquire":
            want = min(servers, key=model.__getitem__)  # min keeps the first of equal minima
            assert balancer.acquire() == want, f"active counts {model}: acquire() must pick {want}"
            model[want] += 1
        elif op == "release" and model[server] == 0:
            with pytest.raises(ValueError):
                balancer.release(server)
        elif op == "release":
            balancer.release(server)
            model[server] -= 1
        else:
            assert balancer.active(server) == model[server], f"active({server!r}) must be {model[server]}"
