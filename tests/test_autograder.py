"""The hidden suites' own tests: they pass the reference and fail every plausible wrong answer."""

from __future__ import annotations

import sys

import pytest

import autograder
from tests import broken_limiters as broken
from tests.suite_checks import assert_groups_partition, run_cli


def test_reference_package_passes_every_hidden_test():
    from highload.ratelimit import SlidingWindowLog, TokenBucket

    for suite, target in [("token_bucket", TokenBucket), ("sliding_window_log", SlidingWindowLog)]:
        report = autograder.check(suite, target)
        assert report.passed, report.summary()
        assert len(report.outcomes) >= 15


def test_correct_standalone_answers_pass():
    assert autograder.check("token_bucket", broken.GoodBucket).passed
    assert autograder.check("sliding_window_log", broken.GoodLog).passed


@pytest.mark.parametrize("wrong", broken.BROKEN_BUCKETS, ids=lambda c: c.__name__)
def test_token_bucket_suite_catches(wrong):
    report = autograder.check("token_bucket", wrong)
    assert not report.passed, f"{wrong.__name__} passed every hidden test"


@pytest.mark.parametrize("wrong", broken.BROKEN_LOGS, ids=lambda c: c.__name__)
def test_sliding_window_suite_catches(wrong):
    report = autograder.check("sliding_window_log", wrong)
    assert not report.passed, f"{wrong.__name__} passed every hidden test"


def test_failures_are_named_after_the_clause():
    report = autograder.check("token_bucket", broken.ConsumesOnReject, group="basics")
    names = {o.name for o in report.failures}
    assert "test_rejected_call_consumes_nothing" in names
    assert all(o.group == "basics" for o in report.outcomes)


def test_groups_partition_the_suite():
    from highload.ratelimit import TokenBucket

    assert_groups_partition("token_bucket", TokenBucket, ("basics", "refill", "retry_after", "edge"))


def test_an_infinite_loop_costs_only_its_own_tests():
    report = autograder.check("token_bucket", broken.Hangs, group="retry_after", timeout=1)
    timed_out = [o for o in report.failures if "Timeout" in o.message]
    assert timed_out, report.summary()
    assert any(o.passed for o in report.outcomes), "tests that never call allow() still pass"


def test_run_raises_with_names_and_keeps_output_short(capsys):
    with pytest.raises(AssertionError, match="hidden test\\(s\\) failed: .*test_new_bucket_starts_full"):
        autograder.run("token_bucket", broken.StartsEmpty, group="basics")
    out = capsys.readouterr()
    assert "FAIL test_new_bucket_starts_full" in out.out
    assert out.err == "", "a graded cell that writes to stderr scores 0"
    assert "def test_" not in out.out and "assert [" not in out.out, "no hidden source in feedback"


def test_student_prints_do_not_reach_the_cell(capsys):
    class Chatty(broken.GoodBucket):
        def allow(self, cost=1):
            print("debug!")
            print("oops", file=sys.stderr)
            return super().allow(cost)

    autograder.run("token_bucket", Chatty, group="basics")
    out = capsys.readouterr()
    assert "debug!" not in out.out and out.err == ""


def test_grading_mode_refuses_answers_borrowed_from_highload(monkeypatch):
    from highload.ratelimit import TokenBucket

    class Subclass(TokenBucket):
        pass

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    for borrowed in (TokenBucket, Subclass):
        report = autograder.check("token_bucket", borrowed, group="basics")
        assert not report.passed and report.outcomes[0].name == "answer_is_your_own"
    assert autograder.check("token_bucket", broken.GoodBucket, group="basics").passed


def test_unknown_suite_and_group_are_clear_errors():
    with pytest.raises(ValueError, match="suite must be one of"):
        autograder.check("nope", broken.GoodBucket)
    report = autograder.check("token_bucket", broken.GoodBucket, group="nope")
    assert not report.passed and report.outcomes[0].name == "suite_selection"


def test_cli_exits_zero_only_when_every_hidden_test_passes():
    ok = run_cli("check", "token_bucket", "--target", "highload.ratelimit:TokenBucket")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS test_rejected_call_consumes_nothing" in ok.stdout
    bad = run_cli("check", "sliding_window_log", "--target", "tests.broken_limiters:RecordsRejected")
    assert bad.returncode == 1
    assert "FAIL test_rejected_requests_are_not_recorded" in bad.stdout
    missing = run_cli("check", "token_bucket", "--target", "tests.broken_limiters:Nope")
    assert missing.returncode == 2 and "cannot load target" in missing.stderr
