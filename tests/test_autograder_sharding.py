"""The consistent_hash hidden suite's own tests: it passes correct answers and fails every plausible wrong one."""

from __future__ import annotations

import types

import pytest

import autograder
from tests import broken_sharding as broken
from tests.suite_checks import assert_groups_partition, run_cli

GROUPS = ("ring_lookup", "ring_membership", "ring_movement", "jump_hash")

#: The clause each wrong answer breaks: its feedback must name that test.
RING_CLAUSE = {
    "LittleEndian": ("ring_lookup", "test_default_hash_is_md5_first_8_bytes_big_endian"),
    "StrictlyAfter": ("ring_lookup", "test_key_on_a_vnode_belongs_to_that_vnode"),
    "TiesToLast": ("ring_lookup", "test_ties_go_to_the_name_that_sorts_first"),
    "DashLabels": ("ring_lookup", "test_vnode_labels_are_name_hash_index"),
    "ReprKeys": ("ring_lookup", "test_non_str_key_is_hashed_as_its_str"),
    "BoolVnodes": ("ring_membership", "test_vnodes_must_be_an_int_not_a_bool[True]"),
    "AnyNodeName": ("ring_membership", "test_node_names_must_be_str[int]"),
    "NodesIsInternal": ("ring_membership", "test_nodes_returns_a_new_set_of_names"),
    "AddTwiceIgnored": ("ring_membership", "test_add_present_node_is_a_value_error"),
    "RemoveAbsentIgnored": ("ring_membership", "test_remove_absent_node_is_a_value_error"),
    "EmptyRingNone": ("ring_membership", "test_empty_ring_lookup_is_a_lookup_error"),
    "ModuloNodes": ("ring_movement", "test_adding_a_node_moves_only_keys_onto_it"),
    "VnodesZeroAllowed": ("ring_membership", "test_vnodes_below_one_is_a_value_error[0]"),
}
JUMP_CLAUSE = {
    "no_wrap": "test_key_is_a_64_bit_unsigned_int_wrapping_at_2_64",
    "loop_once_more": "test_returns_a_plain_int_in_range",
    "bool_accepted": "test_non_int_arguments_are_type_errors[key-bool]",
    "no_range_check": "test_out_of_range_is_a_value_error[key2**64]",
    "floats_accepted": "test_non_int_arguments_are_type_errors[key-float]",
    "modulo_buckets": "test_published_vectors",
}


def test_correct_standalone_answer_and_the_package_pass_every_hidden_test():
    import highload.sharding

    for target in (broken.GOOD_SHARDING, highload.sharding):
        report = autograder.check("consistent_hash", target)
        assert report.passed, report.summary()
        assert len(report.outcomes) >= 45


def test_every_wrong_answer_has_its_clause():
    assert set(RING_CLAUSE) == {c.__name__ for c in broken.BROKEN_RINGS}
    assert set(JUMP_CLAUSE) == {f.__name__ for f in broken.BROKEN_JUMPS}


def _caught_in_group(target, group: str, clause: str, name: str) -> None:
    # Only the clause's own group runs: the whole suite per wrong answer would cost minutes.
    report = autograder.check("consistent_hash", target, group=group)
    assert not report.passed, f"{name} passed every hidden test of {group}"
    assert clause in {o.name for o in report.failures}, report.summary()


@pytest.mark.parametrize("wrong", broken.BROKEN_RINGS, ids=lambda c: c.__name__)
def test_suite_catches_wrong_rings(wrong):
    group, clause = RING_CLAUSE[wrong.__name__]
    _caught_in_group(broken.sharding(ring=wrong), group, clause, wrong.__name__)


@pytest.mark.parametrize("wrong", broken.BROKEN_JUMPS, ids=lambda f: f.__name__)
def test_suite_catches_wrong_jump_hashes(wrong):
    _caught_in_group(broken.sharding(jump=wrong), "jump_hash", JUMP_CLAUSE[wrong.__name__], wrong.__name__)


def test_a_wrong_answer_costs_only_its_own_groups():
    report = autograder.check("consistent_hash", broken.sharding(ring=broken.StrictlyAfter))
    assert {o.group for o in report.failures} == {"ring_lookup"}, report.summary()
    report = autograder.check("consistent_hash", broken.sharding(jump=broken.modulo_buckets))
    assert {o.group for o in report.failures} == {"jump_hash"}, report.summary()


def test_groups_partition_the_suite():
    assert_groups_partition("consistent_hash", broken.GOOD_SHARDING, GROUPS)


def test_a_missing_name_fails_its_group_with_a_clear_message():
    report = autograder.check("consistent_hash", types.SimpleNamespace(ConsistentHashRing=broken.GoodRing))
    jump = [o for o in report.outcomes if o.group == "jump_hash"]
    assert jump and all("must provide jump_hash" in o.message for o in jump), report.summary()
    assert all(o.passed for o in report.outcomes if o.group != "jump_hash"), report.summary()


def test_grading_mode_refuses_the_package_as_an_answer(monkeypatch):
    import highload.sharding

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    report = autograder.check("consistent_hash", highload.sharding, group="ring_lookup")
    assert not report.passed and report.outcomes[0].name == "answer_is_your_own"


def test_command_line_exits_zero_on_the_package():
    done = run_cli("check", "consistent_hash", "--target", "highload.sharding")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hidden tests passed" in done.stdout
