"""Hidden suite: backoff_delays(attempts, base, factor, max_delay, jitter, rng) — one test per clause.

The target is the function. Bases and factors are small integers, halves or powers of two, so
the caps ``min(max_delay, base * factor**i)`` are exact. Where delays pass the largest float the
arguments are floats, as the signature says, so the answer is math.inf rather than a huge int.
Random modes run with fixed seeds: every statistical check is deterministic, and its tolerance
is six standard errors, so any correct way of drawing the numbers passes and a wrong
distribution fails.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING

bounds = pytest.mark.group("backoff_bounds")
jitter = pytest.mark.group("jitter")

RANDOM = ["full", "equal", "decorrelated"]
MODES = ["none", *RANDOM]
#: Rounding slack for bounds like ``uniform(a, b) <= b``, which floats may miss by one ulp.
SLACK = 1e-12


def caps(attempts, base, factor=2.0, max_delay=math.inf):
    return [min(max_delay, base * factor**i) for i in range(attempts)]


def within(value, low, high):
    return low * (1 - SLACK) - SLACK <= value <= high * (1 + SLACK) + SLACK


def paired(delays, limits):
    """(delay, cap) pairs, once the list has one delay per attempt."""
    assert len(delays) == len(limits), f"expected {len(limits)} delays, got {len(delays)}"
    return zip(delays, limits, strict=True)


def mean_is_near(values, expected, sd):
    """Deterministic with a fixed seed; six standard errors wide, so never a borderline call."""
    tolerance = 6 * sd / math.sqrt(len(values))
    mean = sum(values) / len(values)
    return abs(mean - expected) <= tolerance, mean, tolerance


UNIFORM_SD = 1 / math.sqrt(12)  # the standard deviation of uniform(0, 1)


# -- bounds: the caps, overflow, validation -----------------------------------------------------
@bounds
def test_zero_attempts_give_an_empty_list(target):
    assert target(0, 1.0) == [], "attempts=0 means no retries: []"


@bounds
@pytest.mark.parametrize("attempts", [1, 5, 100])
def test_one_delay_per_attempt(target, attempts):
    delays = target(attempts, 0.5)
    assert isinstance(delays, list), "backoff_delays must return a list"
    assert len(delays) == attempts, f"{attempts} attempts need {attempts} delays, got {len(delays)}"


@bounds
def test_first_delay_is_base(target):
    assert target(1, 0.25, 4)[0] == 0.25, "the first delay is base * factor**0 = base"


@bounds
def test_each_delay_is_factor_times_the_previous(target):
    assert target(5, 0.5, 3) == [0.5, 1.5, 4.5, 13.5, 40.5], "base 0.5, factor 3: 0.5 * 3**i"


@bounds
def test_default_factor_is_two(target):
    assert target(5, 0.25) == [0.25, 0.5, 1.0, 2.0, 4.0], "the default factor is 2"


@bounds
def test_factor_one_gives_constant_delays(target):
    assert target(4, 1.5, 1) == [1.5] * 4, "factor 1 never grows"


@bounds
def test_max_delay_caps_every_delay(target):
    assert target(6, 1, 2, 5) == [1, 2, 4, 5, 5, 5], "min(max_delay, base * factor**i)"


@bounds
def test_max_delay_below_base_caps_the_first_delay_too(target):
    assert target(3, 2, 2, 0.5) == [0.5, 0.5, 0.5], "the cap applies from the first delay"


@bounds
def test_default_max_delay_is_infinite(target):
    delays = target(64, 0.5)
    assert delays[-1] == 0.5 * 2.0**63, "with no max_delay nothing is capped"


@bounds
def test_default_jitter_is_none(target):
    assert target(4, 1, 2, 6) == [1, 2, 4, 6], "the default jitter is 'none': the caps themselves"


@bounds
def test_none_jitter_ignores_the_rng(target):
    assert target(4, 1, 2, 6, "none", random.Random(1)) == [1, 2, 4, 6], "'none' gives the caps, rng or not"


@bounds
@pytest.mark.parametrize("mode", MODES)
def test_large_factor_and_many_attempts_do_not_overflow(target, mode):
    delays = target(10_000, 1.0, 10.0, 60.0, mode, random.Random(5))
    assert len(delays) == 10_000
    assert all(0 <= d <= 60 for d in delays), "every delay must be at most max_delay (60)"
    if mode == "none":
        assert delays[2] == 60 and delays[-1] == 60, "10**i passes 60 at i = 2 and stays capped"


@bounds
def test_infinite_max_delay_gives_inf_not_an_error(target):
    delays = target(1100, 1.0, 2.0, math.inf)
    assert delays[1023] == 2.0**1023, "2**1023 is still a float"
    assert all(d == math.inf for d in delays[1024:]), "past the largest float the delay is math.inf"
    assert target(10_000, 1.0, 10.0)[-1] == math.inf, "factor 10, 10,000 attempts: math.inf, no OverflowError"


@bounds
@pytest.mark.parametrize("mode", RANDOM)
def test_infinite_max_delay_with_jitter_raises_no_error(target, mode):
    delays = target(2000, 1.0, 10.0, math.inf, mode, random.Random(9))
    assert len(delays) == 2000
    assert all(d >= 0 and not math.isnan(d) for d in delays), "delays must be numbers >= 0, never NaN"
    if mode != "decorrelated":
        assert delays[-1] == math.inf, "uniform jitter on an infinite cap is math.inf"


@bounds
@pytest.mark.parametrize("kwargs", [
    {"attempts": -1},
    {"base": 0},
    {"base": -0.5},
    {"factor": 0.5},
    {"factor": 0},
    {"jitter": "gaussian"},
    {"jitter": ""},
], ids=lambda kw: "{}={!r}".format(*next(iter(kw.items()))))
def test_invalid_arguments_are_value_errors(target, kwargs):
    args = {"attempts": 3, "base": 1.0, **kwargs}
    with pytest.raises(ValueError):
        target(args.pop("attempts"), args.pop("base"), **args)


@bounds
@pytest.mark.parametrize("kwargs", [{"base": 0}, {"factor": 0.5}, {"jitter": "gaussian"}],
                         ids=["base=0", "factor=0.5", "jitter=gaussian"])
def test_arguments_are_checked_even_for_zero_attempts(target, kwargs):
    args = {"base": 1.0, **kwargs}
    with pytest.raises(ValueError):
        target(0, args.pop("base"), **args)


@bounds
def test_boundary_arguments_are_valid(target):
    assert target(0, 0.25, 1) == [], "attempts 0 and factor 1 are valid"
    assert target(2, 2.0**-20, 1) == [2.0**-20] * 2, "any base > 0 is valid"


@bounds
@GRADING
@given(attempts=st.integers(0, 30), base=st.sampled_from([0.25, 0.5, 1, 2, 3]),
       factor=st.sampled_from([1, 1.5, 2, 3, 4]), max_delay=st.sampled_from([0.5, 1, 8, 60, math.inf]))
def test_matches_the_caps_on_random_arguments(target, attempts, base, factor, max_delay):
    want = caps(attempts, base, factor, max_delay)
    got = target(attempts, base, factor, max_delay)
    assert all(math.isclose(g, w, rel_tol=1e-12) for g, w in paired(got, want)), \
        f"backoff_delays({attempts}, {base}, {factor}, {max_delay}) must be {want}, got {got}"


# -- jitter -------------------------------------------------------------------------------------
@jitter
@pytest.mark.parametrize("mode", RANDOM)
def test_same_seed_gives_the_same_delays(target, mode):
    first = target(50, 1, 2, 100, mode, random.Random(42))
    second = target(50, 1, 2, 100, mode, random.Random(42))
    assert first == second, "the same seed must give the same delays: draw from rng, not from `random`"


@jitter
@pytest.mark.parametrize("mode", RANDOM)
def test_different_seeds_give_different_delays(target, mode):
    first = target(50, 1, 2, 100, mode, random.Random(1))
    second = target(50, 1, 2, 100, mode, random.Random(2))
    assert first != second, "different seeds must give different delays: use the rng you are given"


@jitter
@pytest.mark.parametrize("mode", RANDOM)
def test_rng_none_still_works(target, mode):
    delays = target(20, 1, 2, 16, mode)
    assert len(delays) == 20 and all(0 <= d <= 16 for d in delays), "rng=None must work, within the caps"


@jitter
def test_full_jitter_stays_between_zero_and_the_cap(target):
    limits = caps(500, 0.5, 2, 32)
    delays = target(500, 0.5, 2, 32, "full", random.Random(3))
    assert all(within(d, 0, c) for d, c in paired(delays, limits)), "full jitter: 0 <= delay <= cap_i"


@jitter
def test_full_jitter_covers_the_whole_range(target):
    limits = caps(2000, 1, 2, 8)
    ratios = [d / c for d, c in paired(target(2000, 1, 2, 8, "full", random.Random(4)), limits)]
    assert min(ratios) < 0.05 and max(ratios) > 0.95, \
        "full jitter is uniform(0, cap_i): delays must reach both ends of [0, cap_i]"


@jitter
def test_full_jitter_mean_is_half_the_cap(target):
    limits = caps(4000, 1, 2, 8)
    ratios = [d / c for d, c in paired(target(4000, 1, 2, 8, "full", random.Random(2024)), limits)]
    good, mean, tol = mean_is_near(ratios, 0.5, UNIFORM_SD)
    assert good, f"full jitter: the mean of delay / cap_i must be 0.5 ± {tol:.3f}, got {mean:.3f}"


@jitter
def test_equal_jitter_stays_between_half_the_cap_and_the_cap(target):
    limits = caps(500, 0.5, 2, 32)
    delays = target(500, 0.5, 2, 32, "equal", random.Random(3))
    assert all(within(d, c / 2, c) for d, c in paired(delays, limits)), "equal jitter: cap_i/2 <= delay <= cap_i"


@jitter
def test_equal_jitter_covers_the_upper_half(target):
    limits = caps(2000, 1, 2, 8)
    ratios = [d / c for d, c in paired(target(2000, 1, 2, 8, "equal", random.Random(4)), limits)]
    assert min(ratios) < 0.525 and max(ratios) > 0.975, \
        "equal jitter is cap_i/2 + uniform(0, cap_i/2): delays must reach both ends of [cap_i/2, cap_i]"


@jitter
def test_equal_jitter_mean_is_three_quarters_of_the_cap(target):
    limits = caps(4000, 1, 2, 8)
    ratios = [d / c for d, c in paired(target(4000, 1, 2, 8, "equal", random.Random(2024)), limits)]
    good, mean, tol = mean_is_near(ratios, 0.75, UNIFORM_SD / 2)
    assert good, f"equal jitter: the mean of delay / cap_i must be 0.75 ± {tol:.3f}, got {mean:.3f}"


@jitter
def test_decorrelated_first_delay_is_between_base_and_three_times_base(target):
    firsts = [target(1, 2, 2, 100, "decorrelated", random.Random(seed))[0] for seed in range(300)]
    assert all(within(d, 2, 6) for d in firsts), "the first decorrelated delay is uniform(base, base*3)"


@jitter
def test_decorrelated_first_delay_mean_is_twice_base(target):
    firsts = [target(1, 1, 2, 100, "decorrelated", random.Random(seed))[0] for seed in range(2000)]
    good, mean, tol = mean_is_near(firsts, 2.0, 2 * UNIFORM_SD)
    assert good, f"uniform(base, base*3) with base 1 has mean 2 ± {tol:.3f}, got {mean:.3f}"


@jitter
def test_decorrelated_stays_between_base_and_three_times_the_previous_delay(target):
    base, top = 0.5, 1000
    delays = target(2000, base, 2, top, "decorrelated", random.Random(6))
    prev = base
    for i, d in enumerate(delays):
        assert within(d, base, min(top, prev * 3)), \
            f"delay {i} must be in [base, min(max_delay, 3 * previous delay)] = [{base}, {min(top, prev * 3)}], got {d}"
        prev = d


@jitter
def test_decorrelated_grows_from_the_previous_delay(target):
    delays = target(1000, 1, 2, 100, "decorrelated", random.Random(7))
    assert max(delays) > 3, "each delay may reach 3x the previous one: delays must grow beyond base*3"
    assert max(delays) == 100, "over 1000 attempts the delays must climb to max_delay"


@jitter
def test_decorrelated_is_capped_at_max_delay(target):
    delays = target(500, 1, 2, 10, "decorrelated", random.Random(8))
    assert all(d <= 10 for d in delays), "decorrelated delays are min(max_delay, ...)"
    assert delays.count(10) > 10, "uniform(base, prev*3) often passes max_delay: those delays equal it"


@jitter
def test_decorrelated_remembers_the_capped_delay(target):
    # prev is the delay returned: keeping the uncapped draw pins nearly every delay at the cap.
    delays = target(5000, 1, 2, 10, "decorrelated", random.Random(9))
    share = delays.count(10) / len(delays)
    assert share < 0.75, (f"{share:.0%} of the delays equal max_delay; about half do when prev is the previous "
                          "delay returned (capped), nearly all when prev keeps the uncapped draw")


@jitter
@GRADING
@given(mode=st.sampled_from(RANDOM), attempts=st.integers(0, 40), base=st.sampled_from([0.25, 0.5, 1, 3]),
       factor=st.sampled_from([1, 1.5, 2, 4]), max_delay=st.sampled_from([0.5, 4, 60, math.inf]),
       seed=st.integers(0, 2**32))
def test_jitter_bounds_hold_on_random_arguments(target, mode, attempts, base, factor, max_delay, seed):
    delays = target(attempts, base, factor, max_delay, mode, random.Random(seed))
    prev = base
    for d, cap in paired(delays, caps(attempts, base, factor, max_delay)):
        if mode == "full":
            low, high = 0, cap
        elif mode == "equal":
            low, high = cap / 2, cap
        else:
            low, high = min(base, max_delay), min(max_delay, prev * 3)
            prev = d
        assert within(d, low, high), f"{mode} jitter: each delay must be in [{low}, {high}], got {d}"
