"""highload.capacity: the URL-shortener numbers of lessons 00 and 12, exact ceilings, Little's law, errors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from highload.capacity import (
    average_rps,
    littles_law,
    littles_law_arrival_rate,
    littles_law_time,
    peak_rps,
    required_servers,
)

CLICKS_PER_DAY = 2_000_000_000  # seed 000: the URL shortener


def test_average_rps_of_the_url_shortener_is_23148():
    assert average_rps(CLICKS_PER_DAY) == pytest.approx(23_148.148, abs=1e-3)
    assert round(average_rps(CLICKS_PER_DAY), 1) == 23_148.1


def test_peak_rps_at_5x_is_115740():
    assert round(peak_rps(CLICKS_PER_DAY, 5), 1) == 115_740.7


def test_average_rps_is_per_day_over_86400():
    assert average_rps(86_400) == 1.0
    assert average_rps(0) == 0.0


def test_required_servers_for_the_url_shortener():
    assert required_servers(CLICKS_PER_DAY, 5, 10_000) == 12  # 11.57 -> 12
    assert required_servers(CLICKS_PER_DAY, 5, 10_000, headroom=0.3) == 17  # 115,741 / 7,000


def test_exact_multiple_needs_exactly_that_many_servers():
    assert required_servers(86_400_000, 1, 1000) == 1
    assert required_servers(86_400_000, 3, 1000) == 3
    assert required_servers(86_400 * 1000 * 7, 1, 1000) == 7


def test_exact_multiple_with_float_headroom_does_not_round_up():
    # 7 servers x 9 req/s x 0.9: a naive float formula gets 7.000000000000001 and returns 8.
    assert required_servers(4_898_880, 1, 9, headroom=0.1) == 7
    assert required_servers(86_400 * 800, 1, 1000, headroom=0.2) == 1
    assert required_servers(86_400 * 2100, 1, 1000, headroom=0.3) == 3
    assert required_servers(86_400 * 1000, 1.1, 1100) == 1


def test_one_request_more_than_a_multiple_needs_one_more_server():
    assert required_servers(86_400_000 + 1, 1, 1000) == 2


def test_headroom_zero_is_allowed_and_headroom_just_below_one_is_allowed():
    assert required_servers(86_400, 1, 1, headroom=0) == 1
    assert required_servers(86_400, 1, 1, headroom=0.5) == 2
    assert required_servers(86_400, 1, 1, headroom=0.75) == 4


@pytest.mark.parametrize("headroom", [1, 1.0, 1.5, -0.01, -1])
def test_headroom_outside_zero_to_one_is_a_value_error(headroom):
    with pytest.raises(ValueError, match=r"headroom.*" + repr(headroom).replace(".", r"\.")):
        required_servers(86_400, 1, 1, headroom=headroom)


@pytest.mark.parametrize("name", ["requests_per_day", "peak_factor", "capacity_per_server"])
@pytest.mark.parametrize("bad", [0, -1, -0.5])
def test_non_positive_inputs_are_value_errors_naming_the_parameter(name, bad):
    args = {"requests_per_day": 86_400, "peak_factor": 1, "capacity_per_server": 1}
    args[name] = bad
    with pytest.raises(ValueError, match=rf"{name} must be > 0, got {bad!r}"):
        required_servers(**args)


@pytest.mark.parametrize("name", ["requests_per_day", "peak_factor", "capacity_per_server", "headroom"])
@pytest.mark.parametrize("bad", [True, "100", None])
def test_non_numbers_are_type_errors_naming_the_parameter(name, bad):
    args = {"requests_per_day": 86_400, "peak_factor": 1, "capacity_per_server": 1, "headroom": 0}
    args[name] = bad
    with pytest.raises(TypeError, match=name):
        required_servers(**args)


def test_average_and_peak_reject_bad_inputs():
    with pytest.raises(ValueError, match="requests_per_day"):
        average_rps(-1)
    with pytest.raises(TypeError, match="requests_per_day"):
        average_rps("2e9")
    with pytest.raises(ValueError, match="peak_factor must be > 0, got 0"):
        peak_rps(CLICKS_PER_DAY, 0)


def test_littles_law_in_system_is_rate_times_time():
    assert littles_law(100, 0.5) == 50.0
    assert littles_law(0, 3) == 0.0
    assert littles_law(1000, 0.1) == 100.0  # exact, not 100.00000000000001


def test_littles_law_solved_for_rate_and_time():
    assert littles_law_arrival_rate(200, 0.1) == 2000.0
    assert littles_law_time(1000, 20_000) == 0.05


def test_littles_law_errors_name_the_parameter():
    with pytest.raises(ValueError, match="arrival_rate"):
        littles_law(-1, 1)
    with pytest.raises(ValueError, match="time_in_system must be > 0"):
        littles_law_arrival_rate(10, 0)
    with pytest.raises(ValueError, match="arrival_rate must be > 0"):
        littles_law_time(10, 0)


HEADROOMS = st.sampled_from([0, 0.1, 0.2, 0.25, 0.3, 0.5, 0.75, 0.9])


@settings(deadline=None, derandomize=True, database=None, max_examples=300)
@given(
    per_day=st.integers(1, 10**12),
    peak=st.sampled_from([1, 1.5, 2, 3, 5, 10]),
    capacity=st.integers(1, 100_000),
    headroom=HEADROOMS,
)
def test_required_servers_are_enough_and_one_fewer_is_not(per_day, peak, capacity, headroom):
    servers = required_servers(per_day, peak, capacity, headroom)
    need = Fraction(per_day) * Fraction(str(peak)) / 86_400
    usable = capacity * (1 - Fraction(str(headroom)))
    assert servers >= 1
    assert servers * usable >= need
    if servers > 1:
        assert (servers - 1) * usable < need


@settings(deadline=None, derandomize=True, database=None)
@given(servers=st.integers(1, 1000), capacity=st.integers(1, 10_000), headroom=HEADROOMS)
def test_exact_multiples_never_round_up(servers, capacity, headroom):
    usable = capacity * (1 - Fraction(str(headroom)))
    per_day = servers * usable * 86_400
    if per_day.denominator == 1:
        assert required_servers(int(per_day), 1, capacity, headroom) == servers
