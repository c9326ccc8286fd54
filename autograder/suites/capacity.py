"""Hidden suite: required_servers(requests_per_day, peak_factor, capacity_per_server, headroom).

The target is the function. Every expected value is computed exactly with ``fractions.Fraction``
from ceil(requests_per_day / 86400 * peak_factor / (capacity_per_server * (1 - headroom))).
Peak factors, capacities and headrooms are exactly representable floats (halves, quarters,
eighths), so the real-number answer is unambiguous. Only one test,
``test_exact_multiples_are_not_rounded_up``, uses loads whose answer is an exact integer that
naive float arithmetic overshoots; every other case is far from an integer boundary.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autograder.suites._support import GRADING

formula = pytest.mark.group("capacity_formula")
exact_group = pytest.mark.group("capacity_exact")
errors = pytest.mark.group("capacity_errors")

DAY = 86400


def exact(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    value = (Fraction(requests_per_day) / DAY * Fraction(peak_factor)
             / (Fraction(capacity_per_server) * (1 - Fraction(headroom))))
    return math.ceil(value), value


def check(target, *args):
    want, value = exact(*args)
    got = target(*args)
    assert got == want, f"required_servers{args}: the load is {float(value):.6g} servers' worth, so {want}, got {got!r}"


@formula
def test_returns_an_int(target):
    got = target(DAY * 10, 1, 3)
    assert type(got) is int, f"required_servers must return an int (a number of servers), got {type(got).__name__}"


@formula
def test_rounds_a_fractional_server_up(target):
    check(target, DAY * 10, 1, 3)  # 3.33 -> 4, not 3
    check(target, DAY * 10, 1, 6)  # 1.67 -> 2, not 1 (not round())


@formula
def test_any_positive_load_needs_at_least_one_server(target):
    assert target(1, 1, 100) == 1, "one request a day still needs one server"
    check(target, DAY, 1, 10)  # 0.1 -> 1


@formula
def test_exact_multiple_needs_no_extra_server(target):
    assert target(DAY * 100, 2, 50) == 4, "100 rps at peak 2 on 50-rps servers is exactly 4 servers, not 5"
    assert target(DAY * 30, 1, 10, 0.5) == 6, "30 rps on 10-rps servers at 50% headroom is exactly 6"


@formula
def test_avg_rps_is_requests_per_day_over_86400(target):
    assert target(8_640_000, 1, 100) == 1, "8,640,000 requests a day are 100 rps: one 100-rps server"
    check(target, 8_640_001, 1, 100)  # a hair over 100 rps: 2
    check(target, 1_000_000, 1, 5)  # 11.57 rps -> 3


@formula
def test_peak_factor_multiplies_the_average(target):
    check(target, DAY * 100, 3, 70)  # 300 / 70 = 4.29 -> 5
    check(target, DAY * 100, 1.5, 40)  # 150 / 40 = 3.75 -> 4


@formula
def test_peak_factor_below_one_is_valid(target):
    check(target, DAY * 100, 0.5, 15)  # 50 / 15 = 3.33 -> 4


@formula
def test_fractional_capacity_is_valid(target):
    check(target, DAY * 10, 1, 2.5)  # 10 / 2.5 = 4 exactly
    check(target, DAY * 11, 1, 2.5)  # 4.4 -> 5


@formula
def test_headroom_defaults_to_zero(target):
    assert target(DAY * 100, 1, 30) == target(DAY * 100, 1, 30, 0.0) == 4, "headroom defaults to 0: 100/30 -> 4"


@formula
def test_headroom_zero_is_valid(target):
    check(target, DAY * 100, 1, 30, 0)
    check(target, DAY * 100, 1, 30, 0.0)


@formula
def test_headroom_shrinks_usable_capacity(target):
    check(target, DAY * 100, 1, 100, 0.75)  # 100 / 25 = 4, not 100 / 75 or 100 / 175
    check(target, DAY * 1000, 1, 100, 0.25)  # 1000 / 75 = 13.3 -> 14
    check(target, DAY * 100, 1, 30, 0.5)  # 100 / 15 = 6.67 -> 7


@formula
def test_headroom_just_below_one_is_valid(target):
    check(target, DAY * 10, 1, 10, 0.9375)  # 1 / 0.0625 = 16 exactly
    check(target, DAY * 10, 1, 3, 0.875)  # 10 / 0.375 = 26.7 -> 27


@exact_group
@pytest.mark.parametrize("args", [
    (24192, 25, 7), (24192, 25, 1), (12096, 25, 7, 0.5), (6048, 25, 1, 0.75), (50400, 27, 3, 0.25),
], ids=lambda a: "-".join(map(str, a)))
def test_exact_multiples_are_not_rounded_up(target, args):
    want, value = exact(*args)
    assert value.denominator == 1
    got = target(*args)
    assert got == want, (f"required_servers{args} is exactly {want} servers, got {got!r}: floating-point error "
                         f"must not add a server (compute with integers or fractions.Fraction)")


@formula
def test_large_loads(target):
    check(target, 10**12, 3, 1000)  # 11.6 million rps at peak 3 on 1000-rps servers
    check(target, 10**12, 3, 1000, 0.5)


@errors
@pytest.mark.parametrize("args", [
    (0, 1, 10), (-86400, 1, 10), (86400, 0, 10), (86400, -1.5, 10), (86400, 1, 0), (86400, 1, -10),
], ids=["requests_per_day=0", "requests_per_day<0", "peak_factor=0", "peak_factor<0",
        "capacity_per_server=0", "capacity_per_server<0"])
def test_non_positive_inputs_are_value_errors(target, args):
    with pytest.raises(ValueError):
        target(*args)


@errors
@pytest.mark.parametrize("headroom", [1, 1.0, -0.1, 1.5, -1])
def test_headroom_outside_zero_to_one_is_a_value_error(target, headroom):
    with pytest.raises(ValueError):
        target(DAY * 100, 1, 30, headroom)


@formula
@GRADING
@given(requests_per_day=st.integers(1, 10**10),
       peak_factor=st.sampled_from([0.5, 1, 1.25, 1.5, 2, 2.5, 3, 4, 10]),
       capacity_per_server=st.one_of(st.integers(1, 2000), st.sampled_from([0.5, 2.5, 12.5, 62.5])),
       headroom=st.sampled_from([0, 0.0, 0.125, 0.25, 0.5, 0.75, 0.875]))
def test_matches_the_formula_on_random_inputs(target, requests_per_day, peak_factor, capacity_per_server, headroom):
    args = (requests_per_day, peak_factor, capacity_per_server, headroom)
    want, value = exact(*args)
    # Stay clear of integer answers: floating point decides nothing here (see the exact-multiple test).
    assume(value - math.floor(value) > Fraction(1, 10**6))
    got = target(*args)
    assert got == want, f"required_servers{args} must be {want} (the load is {float(value):.9g} servers), got {got!r}"
