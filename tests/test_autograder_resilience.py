"""The exercise-09 hidden suites' own tests: they pass correct answers and fail every plausible wrong one."""

from __future__ import annotations

import sys
import types

import nbformat
import pytest

import autograder
from autograder import grading
from tests import broken_resilience as broken
from tests.suite_checks import ROOT, assert_groups_partition, run_cli

GROUPS = {
    "circuit_breaker": ("closed_to_open", "open_to_half_open", "half_open", "late_calls", "errors"),
    "backoff": ("backoff_bounds", "jitter"),
}

#: The clause each wrong answer breaks: its feedback must name that test.
BREAKER_CLAUSE = {
    "SuccessDoesNotResetFailures": "test_success_resets_the_consecutive_failure_count",
    "OpensAfterThreshold": "test_opens_exactly_at_the_failure_threshold",
    "OpenedAtBeforeCall": "test_opened_at_is_read_when_the_failing_call_ended",
    "StrictOpenTimeout": "test_reads_half_open_exactly_at_open_timeout",
    "RejectionsRestartTimeout": "test_rejected_calls_do_not_extend_the_open_timeout",
    "CallsFnWhileOpen": "test_rejected_call_does_not_call_fn",
    "NegativeRetryAfter": "test_retry_after_is_the_time_left_until_a_trial_is_admitted[0]",
    "NoValidation": "test_failure_threshold_below_one_is_a_value_error[0]",
    "WallClock": "test_open_timeout_uses_the_injected_clock",
    "RaisesCircuitOpenOnTheOpeningFailure": "test_opening_failure_re_raises_the_original_exception",
    "UnlimitedHalfOpenTrials": "test_at_most_half_open_max_calls_trials_in_flight",
    "SlotsNeverFreed": "test_finished_trial_frees_its_slot",
    "StaleTrialCounted": "test_stale_trial_success_after_re_opening_is_ignored",
    "StaleTrialFreesSlot": "test_stale_trial_does_not_free_a_slot_of_a_later_half_open_period",
    "FailedTrialCountsLikeClosed": "test_failed_trial_re_opens_the_circuit",
    "FailedTrialKeepsOldOpenedAt": "test_failed_trial_re_opens_the_circuit",
    "ClosingKeepsFailures": "test_closing_resets_the_failure_count",
    "SuccessesSurviveReopening": "test_failed_trial_restarts_the_success_count",
    "LateFailureReOpens": "test_late_failure_of_a_call_started_closed_does_not_move_opened_at",
    "LateCallCountsInTheCurrentState": "test_late_success_of_a_call_started_closed_is_not_a_trial",
    "RetryAfterIsTheFullTimeout": "test_retry_after_is_the_time_left_until_a_trial_is_admitted[1.25]",
    "BusyRetryAfterIsTheOpenTimeout": "test_retry_after_is_zero_while_every_trial_slot_is_busy",
}
#: Each rule is graded in one cell, so one slip costs one cell's points. These slips change what
#: the tests of several rules observe (the clock; the exception fn raised; the timer every
#: rejection restarts, which retry_after then reports), so they cost points in several cells.
BREAKER_SLIPS_SEEN_BY_SEVERAL_CELLS = {"WallClock", "RaisesCircuitOpenOnTheOpeningFailure", "RejectionsRestartTimeout"}
BACKOFF_CLAUSE = {
    "first_delay_times_factor": "test_first_delay_is_base",
    "overflows": "test_large_factor_and_many_attempts_do_not_overflow[none]",
    "full_jitter_up_to_base": "test_full_jitter_mean_is_half_the_cap",
    "equal_jitter_like_full": "test_equal_jitter_stays_between_half_the_cap_and_the_cap",
    "jitter_before_cap": "test_full_jitter_mean_is_half_the_cap",
    "decorrelated_ignores_prev": "test_decorrelated_grows_from_the_previous_delay",
    "decorrelated_from_cap": "test_decorrelated_stays_between_base_and_three_times_the_previous_delay",
    "decorrelated_uncapped": "test_decorrelated_is_capped_at_max_delay",
    "decorrelated_keeps_uncapped_draw": "test_decorrelated_remembers_the_capped_delay",
    "ignores_rng_seed": "test_same_seed_gives_the_same_delays[full]",
    "fixed_seed": "test_different_seeds_give_different_delays[full]",
    "no_validation": "test_invalid_arguments_are_value_errors[base=0]",
    "validates_only_when_used": "test_arguments_are_checked_even_for_zero_attempts[base=0]",
    "rejects_infinite_max_delay": "test_infinite_max_delay_gives_inf_not_an_error",
}


def test_correct_standalone_answers_pass_every_hidden_test():
    for suite, target in [("circuit_breaker", broken.GoodBreaker), ("backoff", broken.good_backoff_delays)]:
        report = autograder.check(suite, target)
        assert report.passed, report.summary()
        assert len(report.outcomes) >= 40


def test_reference_package_passes_every_hidden_test():
    from highload.resilience import CircuitBreaker, backoff_delays

    for suite, target in [("circuit_breaker", CircuitBreaker), ("backoff", backoff_delays)]:
        report = autograder.check(suite, target)
        assert report.passed, report.summary()


def test_every_wrong_answer_has_its_clause():
    assert set(BREAKER_CLAUSE) == {c.__name__ for c in broken.BROKEN_BREAKERS}
    assert set(BACKOFF_CLAUSE) == {f.__name__ for f in broken.BROKEN_BACKOFFS}


@pytest.mark.parametrize("wrong", broken.BROKEN_BREAKERS, ids=lambda c: c.__name__)
def test_circuit_breaker_suite_catches(wrong):
    report = autograder.check("circuit_breaker", wrong)
    assert not report.passed, f"{wrong.__name__} passed every hidden test"
    failed = {o.name for o in report.failures}
    assert BREAKER_CLAUSE[wrong.__name__] in failed, report.summary()
    if wrong.__name__ not in BREAKER_SLIPS_SEEN_BY_SEVERAL_CELLS:
        cells = {o.group for o in report.failures}
        assert len(cells) == 1, f"{wrong.__name__} loses points in {sorted(cells)}: grade each rule in one cell\n" \
                                + report.summary()


@pytest.fixture(scope="module")
def group_of_test():
    return {o.name: o.group for o in autograder.check("circuit_breaker", broken.GoodBreaker).outcomes}


@pytest.mark.parametrize("wrong", [c for c in broken.BROKEN_BREAKERS
                                   if c.__name__ not in BREAKER_SLIPS_SEEN_BY_SEVERAL_CELLS],
                         ids=lambda c: c.__name__)
def test_visible_asserts_fail_only_in_the_cell_that_grades_the_broken_rule(wrong, group_of_test):
    """A cell earns nothing until its visible asserts pass, so they too must step around the
    rules other cells grade (as the hidden tests do)."""
    nb = nbformat.read(ROOT / "solutions" / "09_circuit_breaker" / "09_circuit_breaker.ipynb", 4)
    cells = [job for _, job in grading.plan(nb) if job.runs and job.runs[0].suite == "circuit_breaker"]
    assert {job.runs[0].group for job in cells} == set(GROUPS["circuit_breaker"])
    failed = set()
    for job in cells:
        namespace = {}
        for _, source in job.setup:
            exec(source, namespace)
        namespace.update(CircuitBreaker=wrong, CircuitOpenError=broken.CircuitOpenError)
        try:
            exec(job.visible, namespace)
        except Exception:
            failed.add(job.runs[0].group)
    assert failed <= {group_of_test[BREAKER_CLAUSE[wrong.__name__]]}, \
        f"{wrong.__name__} fails the visible asserts of {sorted(failed)}"


@pytest.mark.parametrize("wrong", broken.BROKEN_BACKOFFS, ids=lambda f: f.__name__)
def test_backoff_suite_catches(wrong):
    report = autograder.check("backoff", wrong)
    assert not report.passed, f"{wrong.__name__} passed every hidden test"
    failed = {o.name for o in report.failures}
    assert BACKOFF_CLAUSE[wrong.__name__] in failed, report.summary()


@pytest.mark.parametrize("suite", sorted(GROUPS))
def test_groups_partition_the_suite(suite):
    target = {"circuit_breaker": broken.GoodBreaker, "backoff": broken.good_backoff_delays}[suite]
    assert_groups_partition(suite, target, GROUPS[suite])


def test_circuit_open_error_must_live_next_to_the_breaker(monkeypatch):
    lonely = types.ModuleType("lonely_breaker")
    monkeypatch.setitem(sys.modules, "lonely_breaker", lonely)
    breaker = type("LonelyBreaker", (broken.GoodBreaker,), {"__module__": "lonely_breaker"})
    report = autograder.check("circuit_breaker", breaker, group="errors")
    failed = {o.name for o in report.failures}
    assert "test_circuit_open_error_is_importable_from_the_same_module" in failed
    assert "test_rejected_call_raises_circuit_open_error" in failed


def test_a_breaker_that_blocks_re_entrant_calls_costs_only_its_own_tests():
    import threading

    class Locked(broken.GoodBreaker):  # holds a lock while fn runs: a nested call deadlocks
        __module__ = broken.__name__  # where its CircuitOpenError lives

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._lock = threading.Lock()

        def call(self, fn, *args, **kwargs):
            with self._lock:
                return super().call(fn, *args, **kwargs)

    report = autograder.check("circuit_breaker", Locked, group="half_open", timeout=0.5)
    timed_out = {o.name for o in report.failures if "Timeout" in o.message}
    assert "test_at_most_one_trial_in_flight_by_default" in timed_out, report.summary()
    assert any(o.passed for o in report.outcomes), "tests without nested calls still pass"


def test_failures_read_as_advice_without_hidden_source(capsys):
    with pytest.raises(AssertionError, match="test_stale_trial_success_after_re_opening_is_ignored"):
        autograder.run("circuit_breaker", broken.StaleTrialCounted, group="late_calls")
    out = capsys.readouterr()
    assert "FAIL test_stale_trial_success_after_re_opening_is_ignored" in out.out
    assert out.err == "", "a graded cell that writes to stderr scores 0"
    assert "def test_" not in out.out and "breaker.call(" not in out.out, "no hidden source in feedback"


def test_cli_exits_zero_only_when_every_hidden_test_passes():
    ok = run_cli("check", "circuit_breaker", "--target", "tests.broken_resilience:GoodBreaker")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS test_circuit_open_error_is_importable_from_the_same_module" in ok.stdout
    ok = run_cli("check", "backoff", "--target", "tests.broken_resilience:good_backoff_delays")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_cli("check", "backoff", "--target", "tests.broken_resilience:overflows", "--group", "backoff_bounds")
    assert bad.returncode == 1
    assert "FAIL test_infinite_max_delay_gives_inf_not_an_error" in bad.stdout
