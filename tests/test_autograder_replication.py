"""The read_your_writes hidden suite's own tests: it passes correct routers and fails every
plausible wrong one, by the clause it breaks."""

from __future__ import annotations

import pytest

import autograder
from tests import broken_replication as broken
from tests.suite_checks import assert_caught, assert_groups_partition, run_cli

SUITE = "read_your_writes"
GROUPS = ("construction", "writes", "routing", "tokens", "model")


def test_the_package_router_passes_every_hidden_test():
    from highload.replication import SessionRouter

    report = autograder.check(SUITE, SessionRouter)
    assert report.passed, report.summary()
    assert len(report.outcomes) >= 30


def test_a_correct_standalone_answer_passes():
    report = autograder.check(SUITE, broken.GoodRouter)
    assert report.passed, report.summary()


@pytest.mark.parametrize("wrong", list(broken.CLAUSE), ids=lambda c: c.__name__)
def test_the_suite_catches(wrong):
    assert_caught(SUITE, wrong, broken.CLAUSE[wrong], wrong.__name__)


def test_the_model_test_alone_catches_a_wrong_cursor():
    report = autograder.check(SUITE, broken.CursorSkipsToServer, group="model")
    assert not report.passed, report.summary()


def test_groups_partition_the_suite():
    assert_groups_partition(SUITE, broken.GoodRouter, GROUPS)


def test_command_line_exits_zero_for_the_package():
    done = run_cli("check", SUITE, "--target", "highload.replication:SessionRouter")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hidden tests passed" in done.stdout
