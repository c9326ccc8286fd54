"""The scaling hidden suites' own tests: they pass correct answers and fail every plausible wrong one."""

from __future__ import annotations

import sys
import types

import pytest

import autograder
from tests import broken_scaling as broken
from tests.suite_checks import assert_caught, assert_groups_partition, run_cli

GROUPS = {
    "balancing": ("smooth_weighted", "least_connections"),
    "carts": ("cart_basics", "cart_ttl", "cart_errors"),
    "capacity": ("capacity_formula", "capacity_exact", "capacity_errors"),
}
GOOD = {"balancing": broken.GOOD_BALANCING, "carts": broken.GoodCartStore, "capacity": broken.good_required_servers}
MINIMUM_TESTS = {"balancing": 25, "carts": 80, "capacity": 25}

#: The clause each wrong answer breaks: its feedback must name that test.
SWRR_CLAUSE = {
    "NoSubtract": "test_picked_server_drops_by_the_total",
    "SWRRTiesToLast": "test_ties_go_to_the_earliest_in_mapping_order",
    "WeightsNotValidated": "test_weight_below_one_is_a_value_error[0]",
    "PlainWeightedRoundRobin": "test_nginx_example_first_seven_picks",
    "SortsByName": "test_ties_go_to_the_earliest_in_mapping_order",
    "SubtractsOwnWeight": "test_sequence_repeats_every_total_picks",
}
LC_CLAUSE = {
    "LCTiesToLast": "test_ties_go_to_the_earliest",
    "ReleaseBelowZero": "test_release_without_active_connections_is_a_value_error",
    "AcquireNotCounting": "test_acquire_counts_the_connection_active",
    "ReleaseResetsToZero": "test_release_ends_one_connection",
    "RoundRobinIgnoresCounts": "test_acquire_picks_the_fewest_active",
    "ReleaseRaisesKeyError": "test_release_without_active_connections_is_a_value_error",
}
CART_CLAUSE = {
    "NoTtl": "test_add_sets_the_ttl[str_client]",
    "TtlOnlyOnFirstAdd": "test_add_refreshes_a_shortened_ttl[bytes_client]",
    "RemoveDoesNotRefresh": "test_remove_with_qty_refreshes_a_shortened_ttl[str_client]",
    "TtlInWholeSeconds": "test_fractional_ttl_is_honoured_in_milliseconds[bytes_client-0.5]",
    "BoolQtyAccepted": "test_add_item_qty_must_be_a_positive_int[bytes_client-qty=True]",
    "StrQtyAccepted": "test_add_item_qty_must_be_a_positive_int[str_client-qty='2']",
    "DecrementLeavesZero": "test_decrement_to_exactly_zero_removes_the_sku[str_client]",
    "DecrementLeavesNegative": "test_decrement_below_zero_removes_the_sku[bytes_client]",
    "BytesKeys": "test_get_cart_returns_str_skus_and_int_quantities[bytes_client]",
    "LocalCopy": "test_two_stores_on_the_same_redis_share_carts[str_client]",
    "WrongKey": "test_cart_lives_in_the_hash_cart_id[str_client]",
    "TtlNotValidated": "test_ttl_must_be_positive[0]",
    "RemoveQtyNotValidated": "test_remove_item_qty_must_be_a_positive_int[bytes_client-qty=0]",
    "RemoveSetsZero": "test_remove_item_without_qty_removes_the_sku[bytes_client]",
}
CAPACITY_CLAUSE = {
    "floor_servers": "test_rounds_a_fractional_server_up",
    "rounds_servers": "test_rounds_a_fractional_server_up",
    "plus_one": "test_exact_multiple_needs_no_extra_server",
    "headroom_multiplies_load": "test_headroom_shrinks_usable_capacity",
    "not_divided_by_86400": "test_avg_rps_is_requests_per_day_over_86400",
    "no_validation": "test_non_positive_inputs_are_value_errors[requests_per_day=0]",
    "headroom_one_allowed": "test_headroom_outside_zero_to_one_is_a_value_error[1]",
    "negative_headroom_allowed": "test_headroom_outside_zero_to_one_is_a_value_error[-0.1]",
    "returns_float": "test_returns_an_int",
    "naive_float": "test_exact_multiples_are_not_rounded_up[24192-25-7]",
}


def test_correct_standalone_answers_pass_every_hidden_test():
    for suite, target in GOOD.items():
        report = autograder.check(suite, target)
        assert report.passed, report.summary()
        assert len(report.outcomes) >= MINIMUM_TESTS[suite]


def test_reference_package_passes_every_hidden_test():
    import highload.balancing
    from highload.capacity import required_servers
    from highload.carts import RedisCartStore

    for suite, target in [("balancing", highload.balancing), ("carts", RedisCartStore),
                          ("capacity", required_servers)]:
        report = autograder.check(suite, target)
        assert report.passed, report.summary()


def test_every_wrong_answer_has_its_clause():
    assert set(SWRR_CLAUSE) == {c.__name__ for c in broken.BROKEN_SWRR}
    assert set(LC_CLAUSE) == {c.__name__ for c in broken.BROKEN_LC}
    assert set(CART_CLAUSE) == {c.__name__ for c in broken.BROKEN_CARTS}
    assert set(CAPACITY_CLAUSE) == {f.__name__ for f in broken.BROKEN_CAPACITY}


@pytest.mark.parametrize("wrong", broken.BROKEN_SWRR, ids=lambda c: c.__name__)
def test_balancing_suite_catches_wrong_smooth_weighted(wrong):
    assert_caught("balancing", broken.balancing(swrr=wrong), SWRR_CLAUSE[wrong.__name__], wrong.__name__)


@pytest.mark.parametrize("wrong", broken.BROKEN_LC, ids=lambda c: c.__name__)
def test_balancing_suite_catches_wrong_least_connections(wrong):
    assert_caught("balancing", broken.balancing(lc=wrong), LC_CLAUSE[wrong.__name__], wrong.__name__)


@pytest.mark.parametrize("wrong", broken.BROKEN_CARTS, ids=lambda c: c.__name__)
def test_carts_suite_catches(wrong):
    assert_caught("carts", wrong, CART_CLAUSE[wrong.__name__], wrong.__name__)


@pytest.mark.parametrize("wrong", broken.BROKEN_CAPACITY, ids=lambda f: f.__name__)
def test_capacity_suite_catches(wrong):
    assert_caught("capacity", wrong, CAPACITY_CLAUSE[wrong.__name__], wrong.__name__)


def test_a_wrong_class_costs_only_its_own_group():
    report = autograder.check("balancing", broken.balancing(swrr=broken.NoSubtract))
    assert {o.group for o in report.failures} == {"smooth_weighted"}, report.summary()
    report = autograder.check("balancing", broken.balancing(lc=broken.ReleaseBelowZero))
    assert {o.group for o in report.failures} == {"least_connections"}, report.summary()


def test_float_rounding_costs_only_the_exact_multiple_test():
    report = autograder.check("capacity", broken.naive_float)
    failed = {o.name.split("[")[0] for o in report.failures}
    assert failed == {"test_exact_multiples_are_not_rounded_up"}, report.summary()


@pytest.mark.parametrize("suite", sorted(GROUPS))
def test_groups_partition_the_suite(suite):
    assert_groups_partition(suite, GOOD[suite], GROUPS[suite])


def test_balancing_takes_a_module_or_any_namespace(monkeypatch):
    module = types.ModuleType("student_balancing")
    module.SmoothWeightedRoundRobin, module.LeastConnections = broken.GoodSWRR, broken.GoodLeastConnections
    monkeypatch.setitem(sys.modules, "student_balancing", module)
    assert autograder.load_target("student_balancing") is module
    assert autograder.check("balancing", module).passed
    assert autograder.check("balancing", broken).passed, "a module with the contract's names"
    assert autograder.check("balancing", broken.GOOD_BALANCING).passed, "a SimpleNamespace"


def test_a_missing_name_fails_its_group_with_a_clear_message():
    report = autograder.check("balancing", types.SimpleNamespace(SmoothWeightedRoundRobin=broken.GoodSWRR))
    assert all(o.passed for o in report.outcomes if o.group == "smooth_weighted"), report.summary()
    lc = [o for o in report.outcomes if o.group == "least_connections"]
    assert lc and not any(o.passed for o in lc)
    assert all("must provide LeastConnections" in o.message for o in lc), report.summary()


def test_load_target_still_checks_its_spec():
    assert autograder.load_target("tests.broken_scaling:GoodCartStore") is broken.GoodCartStore
    assert autograder.load_target("tests.broken_scaling") is broken
    for spec in ("", ":GoodCartStore", "tests.broken_scaling:"):
        with pytest.raises(ValueError, match="target must look like"):
            autograder.load_target(spec)


def _from_highload(cls):
    return type(cls.__name__, (cls,), {"__module__": "highload.balancing"})


def test_grading_mode_refuses_module_targets_borrowed_from_highload(monkeypatch):
    borrowed_module = types.ModuleType("highload.balancing")
    borrowed_module.SmoothWeightedRoundRobin = broken.GoodSWRR
    borrowed_module.LeastConnections = broken.GoodLeastConnections
    borrowed_names = broken.balancing(lc=_from_highload(broken.GoodLeastConnections))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    for target in (borrowed_module, borrowed_names):
        report = autograder.check("balancing", target, group="smooth_weighted")
        assert not report.passed and report.outcomes[0].name == "answer_is_your_own"
    assert autograder.check("balancing", broken.GOOD_BALANCING).passed


def test_grading_mode_ignores_other_highload_names_in_the_namespace(monkeypatch):
    # A notebook imports helpers like this next to its own answer.
    from highload.clock import ManualClock

    notebook = types.ModuleType("__main__")
    notebook.ManualClock = ManualClock
    notebook.SmoothWeightedRoundRobin, notebook.LeastConnections = broken.GoodSWRR, broken.GoodLeastConnections
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    report = autograder.check("balancing", notebook)
    assert report.passed, report.summary()


def test_grading_mode_refuses_carts_and_capacity_from_highload(monkeypatch):
    store = type("RedisCartStore", (broken.GoodCartStore,), {"__module__": "highload.carts"})

    def required_servers(*args):
        return broken.good_required_servers(*args)

    required_servers.__module__ = "highload.capacity"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    for suite, target in [("carts", store), ("capacity", required_servers)]:
        report = autograder.check(suite, target)
        assert not report.passed and report.outcomes[0].name == "answer_is_your_own"


def test_failures_read_as_advice_without_hidden_source(capsys):
    with pytest.raises(AssertionError, match="test_nginx_example_first_seven_picks"):
        autograder.run("balancing", broken.balancing(swrr=broken.NoSubtract), group="smooth_weighted")
    out = capsys.readouterr()
    assert "FAIL test_nginx_example_first_seven_picks" in out.out
    assert out.err == "", "a graded cell that writes to stderr scores 0"
    assert "def test_" not in out.out and "swrr_model" not in out.out, "no hidden source in feedback"


def test_cli_takes_a_module_target():
    ok = run_cli("check", "balancing", "--target", "tests.broken_scaling")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS test_nginx_example_first_seven_picks" in ok.stdout
    ok = run_cli("check", "balancing", "--target", "tests.broken_scaling", "--group", "least_connections")
    assert ok.returncode == 0 and "least_connections" in ok.stdout, ok.stdout + ok.stderr
    bad = run_cli("check", "balancing", "--target", "tests")
    assert bad.returncode == 1
    assert "FAIL test_nginx_example_first_seven_picks: " in bad.stdout and "must provide" in bad.stdout
    missing = run_cli("check", "balancing", "--target", "tests.no_such_module")
    assert missing.returncode == 2 and "cannot load target" in missing.stderr


def test_cli_exits_zero_only_when_every_hidden_test_passes():
    ok = run_cli("check", "carts", "--target", "tests.broken_scaling:GoodCartStore")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ok = run_cli("check", "capacity", "--target", "tests.broken_scaling:good_required_servers")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_cli("check", "carts", "--target", "tests.broken_scaling:TtlOnlyOnFirstAdd", "--group", "cart_ttl")
    assert bad.returncode == 1
    assert "FAIL test_add_refreshes_a_shortened_ttl[bytes_client]" in bad.stdout
    bad = run_cli("check", "capacity", "--target", "tests.broken_scaling:floor_servers")
    assert bad.returncode == 1 and "FAIL test_rounds_a_fractional_server_up" in bad.stdout
