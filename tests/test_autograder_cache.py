"""The cache hidden suites' own tests: they pass correct answers and fail every plausible wrong one."""

from __future__ import annotations

import sys
import types

import pytest

import autograder
from tests import broken_cache as broken
from tests.suite_checks import assert_caught, assert_groups_partition, run_cli

GROUPS = {
    "cache_aside": ("aside_basics", "aside_ttl", "aside_lru"),
    "write_policies": ("write_back", "flush_timer", "write_through"),
}
GOOD = {"cache_aside": broken.GoodCacheAside, "write_policies": broken.GOOD_POLICIES}
MINIMUM_TESTS = {"cache_aside": 35, "write_policies": 35}

#: The clause each wrong answer breaks: its feedback must name that test.
ASIDE_CLAUSE = {
    "AgeFromBeforeLoad": "test_age_counts_from_after_the_loader_returns",
    "FreshAtExactlyTtl": "test_entry_expires_at_exactly_ttl",
    "CachesNone": "test_a_none_result_is_returned_but_not_cached",
    "FalsyNotCached": "test_falsy_values_other_than_none_are_cached[0]",
    "LruByInsertion": "test_a_hit_makes_its_entry_most_recently_used",
    "NoEviction": "test_oldest_entry_is_evicted_when_full",
    "EvictsBeforeReplacing": "test_reloading_a_cached_key_evicts_no_other_key",
    "SlidingTtl": "test_hits_do_not_extend_the_ttl",
    "ExpiredCountsAsHit": "test_an_expired_get_is_a_miss_and_a_load",
    "WallClock": "test_ttl_uses_the_injected_clock",
    "InvalidateIgnored": "test_invalidate_drops_the_entry",
    "AsideNotValidated": "test_max_entries_must_be_at_least_one[0]",
}
WRITE_BACK_CLAUSE = {
    "FlushDoesNotRestartInterval": "test_a_manual_flush_restarts_the_interval",
    "FlushCountsCleanKeys": "test_flush_counts_only_dirty_keys",
    "FlushRewritesCleanKeys": "test_flush_leaves_clean_keys_alone",
    "FlushKeepsKeysDirty": "test_flush_cleans_the_keys_it_wrote",
    "BackCachesStoreReads": "test_read_from_the_store_is_not_cached",
    "BackWritesTheStore": "test_write_does_not_touch_the_store",
    "FlushAfterTheInterval": "test_a_read_at_exactly_the_interval_flushes_first",
    "IntervalStartsAtFirstWrite": "test_the_first_interval_starts_at_construction",
    "FlushAfterTheWrite": "test_a_write_at_the_interval_flushes_the_earlier_writes_first",
    "ReadDoesNotFlush": "test_a_read_at_exactly_the_interval_flushes_first",
    "DirtyCountIsWrites": "test_dirty_count_counts_keys_not_writes",
    "DirtyCountIsAMethod": "test_write_marks_the_key_dirty",
    "ReadMissingReturnsNone": "test_key_in_neither_raises_key_error",
}
WRITE_THROUGH_CLAUSE = {
    "CacheBeforeStore": "test_the_store_is_written_before_the_cache",
    "SwallowsStoreError": "test_a_failed_store_write_propagates_the_error",
    "ThroughCachesStoreReads": "test_write_through_does_not_cache_what_it_reads_from_the_store",
    "AlwaysReadsTheStore": "test_write_through_reads_the_cache_before_the_store",
    "NeverWritesTheStore": "test_write_goes_to_the_store",
    "DropsEntryOnFailure": "test_a_failed_store_write_keeps_the_old_cached_value",
}


def test_correct_standalone_answers_pass_every_hidden_test():
    for suite, target in GOOD.items():
        report = autograder.check(suite, target)
        assert report.passed, report.summary()
        assert len(report.outcomes) >= MINIMUM_TESTS[suite]


def test_reference_package_passes_every_hidden_test():
    import highload.cache
    from highload.cache import CacheAside

    for suite, target in [("cache_aside", CacheAside), ("write_policies", highload.cache)]:
        report = autograder.check(suite, target)
        assert report.passed, report.summary()


def test_every_wrong_answer_has_its_clause():
    assert set(ASIDE_CLAUSE) == {c.__name__ for c in broken.BROKEN_ASIDE}
    assert set(WRITE_BACK_CLAUSE) == {c.__name__ for c in broken.BROKEN_WRITE_BACK}
    assert set(WRITE_THROUGH_CLAUSE) == {c.__name__ for c in broken.BROKEN_WRITE_THROUGH}
    assert len(broken.BROKEN_ASIDE) + len(broken.BROKEN_WRITE_BACK) + len(broken.BROKEN_WRITE_THROUGH) >= 10


@pytest.mark.parametrize("wrong", broken.BROKEN_ASIDE, ids=lambda c: c.__name__)
def test_cache_aside_suite_catches(wrong):
    assert_caught("cache_aside", wrong, ASIDE_CLAUSE[wrong.__name__], wrong.__name__)


@pytest.mark.parametrize("wrong", broken.BROKEN_WRITE_BACK, ids=lambda c: c.__name__)
def test_write_policies_suite_catches_wrong_write_back(wrong):
    report = assert_caught("write_policies", broken.policies(write_back=wrong), WRITE_BACK_CLAUSE[wrong.__name__],
                     wrong.__name__)
    assert "write_through" not in {o.group for o in report.failures}, "a wrong WriteBackCache costs only its groups"


@pytest.mark.parametrize("wrong", broken.BROKEN_WRITE_THROUGH, ids=lambda c: c.__name__)
def test_write_policies_suite_catches_wrong_write_through(wrong):
    report = assert_caught("write_policies", broken.policies(write_through=wrong), WRITE_THROUGH_CLAUSE[wrong.__name__],
                     wrong.__name__)
    assert {o.group for o in report.failures} == {"write_through"}, report.summary()


@pytest.mark.parametrize("wrong", [broken.AgeFromBeforeLoad, broken.FreshAtExactlyTtl], ids=lambda c: c.__name__)
def test_an_expiry_mistake_costs_only_the_ttl_group(wrong):
    report = autograder.check("cache_aside", wrong)
    assert {o.group for o in report.failures} == {"aside_ttl"}, report.summary()


@pytest.mark.parametrize("wrong", [broken.FlushAfterTheInterval, broken.FlushDoesNotRestartInterval],
                         ids=lambda c: c.__name__)
def test_a_timer_mistake_costs_only_the_flush_timer_group(wrong):
    report = autograder.check("write_policies", broken.policies(write_back=wrong))
    assert {o.group for o in report.failures} == {"flush_timer"}, report.summary()


@pytest.mark.parametrize("suite", sorted(GROUPS))
def test_groups_partition_the_suite(suite):
    assert_groups_partition(suite, GOOD[suite], GROUPS[suite])


def test_write_policies_takes_a_module_or_any_namespace(monkeypatch):
    module = types.ModuleType("student_cache")
    module.WriteBackCache, module.WriteThroughCache = broken.GoodWriteBack, broken.GoodWriteThrough
    monkeypatch.setitem(sys.modules, "student_cache", module)
    assert autograder.load_target("student_cache") is module
    assert autograder.check("write_policies", module).passed
    assert autograder.check("write_policies", broken).passed, "a module with the contract's names"


def test_a_missing_name_fails_its_group_with_a_clear_message():
    report = autograder.check("write_policies", types.SimpleNamespace(WriteThroughCache=broken.GoodWriteThrough))
    assert all(o.passed for o in report.outcomes if o.group == "write_through"), report.summary()
    back = [o for o in report.outcomes if o.group in ("write_back", "flush_timer")]
    assert back and not any(o.passed for o in back)
    assert all("must provide WriteBackCache" in o.message for o in back), report.summary()


def _from_highload(cls, module):
    return type(cls.__name__, (cls,), {"__module__": module})


def test_grading_mode_refuses_answers_from_highload(monkeypatch):
    import highload.cache
    from highload.clock import ManualClock

    borrowed = broken.policies(write_through=_from_highload(broken.GoodWriteThrough, "highload.cache.through"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    for suite, target in [("cache_aside", highload.cache.CacheAside), ("write_policies", highload.cache),
                          ("write_policies", borrowed)]:
        report = autograder.check(suite, target)
        assert not report.passed and report.outcomes[0].name == "answer_is_your_own", report.summary()
    notebook = types.SimpleNamespace(ManualClock=ManualClock, WriteBackCache=broken.GoodWriteBack,
                                     WriteThroughCache=broken.GoodWriteThrough)
    assert autograder.check("write_policies", notebook).passed, "other highload names are not the answer"


def test_failures_read_as_advice_without_hidden_source(capsys):
    with pytest.raises(AssertionError, match="test_age_counts_from_after_the_loader_returns"):
        autograder.run("cache_aside", broken.AgeFromBeforeLoad, group="aside_ttl")
    out = capsys.readouterr()
    assert "FAIL test_age_counts_from_after_the_loader_returns" in out.out
    assert out.err == "", "a graded cell that writes to stderr scores 0"
    assert "def test_" not in out.out and "class Loader" not in out.out, "no hidden source in feedback"


def test_cli_exits_zero_only_when_every_hidden_test_passes():
    ok = run_cli("check", "write_policies", "--target", "tests.broken_cache")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ok = run_cli("check", "cache_aside", "--target", "tests.broken_cache:GoodCacheAside", "--group", "aside_lru")
    assert ok.returncode == 0 and "cache_aside[aside_lru]" in ok.stdout, ok.stdout + ok.stderr
    bad = run_cli("check", "cache_aside", "--target", "tests.broken_cache:LruByInsertion")
    assert bad.returncode == 1
    assert "FAIL test_a_hit_makes_its_entry_most_recently_used: " in bad.stdout
