"""Checks every hidden suite's own tests share: a wrong answer is caught by the clause it breaks,
graded groups partition a suite, and the ``python -m autograder`` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import autograder

ROOT = Path(__file__).resolve().parent.parent


def assert_caught(suite: str, target, clause: str, name: str):
    """``target`` fails ``suite``, and ``clause`` is among the failing tests; returns the report."""
    report = autograder.check(suite, target)
    assert not report.passed, f"{name} passed every hidden test"
    assert clause in {o.name for o in report.failures}, report.summary()
    return report


def assert_groups_partition(suite: str, target, groups) -> None:
    """Every group holds tests, and together the groups run each of the suite's tests exactly once."""
    whole = {o.name for o in autograder.check(suite, target).outcomes}
    parts = [{o.name for o in autograder.check(suite, target, group=g).outcomes} for g in groups]
    assert all(parts), "every graded cell's group must hold tests"
    assert set().union(*parts) == whole and sum(map(len, parts)) == len(whole)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` from the repo root, output captured as text."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, capture_output=True, text=True)
