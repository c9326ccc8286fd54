"""nbgrader end to end: the committed release is fresh, leaks nothing, and grades as it should."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import demo, release

pytestmark = pytest.mark.grading

ROOT = Path(__file__).resolve().parent.parent
LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograder")


def _normalized(path: Path) -> list[dict]:
    nb = nbformat.read(path, 4)
    return [{"type": c.cell_type, "source": c.source, "nbgrader": c.metadata.get("nbgrader")} for c in nb.cells]


def test_committed_release_matches_a_fresh_generate(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    release.generate(tmp_path)
    for assignment in release.assignments():
        for fresh in sorted((tmp_path / "exercises" / assignment).glob("*.ipynb")):
            committed = ROOT / "exercises" / assignment / fresh.name
            assert committed.exists(), f"{committed} is missing: run `make release`"
            assert _normalized(committed) == _normalized(fresh), f"{committed} is stale: run `make release`"


@pytest.mark.parametrize("notebook", sorted((ROOT / "exercises").rglob("*.ipynb")), ids=lambda p: p.name)
def test_release_contains_no_solution_or_hidden_tests(notebook):
    text = notebook.read_text(encoding="utf-8")
    for marker in LEAKS:
        assert marker not in text, f"{notebook} contains {marker!r}"
    solution_source = (ROOT / "solutions" / notebook.relative_to(ROOT / "exercises")).read_text(encoding="utf-8")
    assert "self._tokens -= cost" in solution_source and "self._tokens -= cost" not in text


def test_grade_demo_scores_and_feedback(tmp_path):
    results = {r.student: r for r in demo.run(tmp_path / "course")}
    full = results["correct"].max_score
    assert full == 12
    assert results["correct"].score == full
    assert results["untouched"].score == 0
    assert 0 < results["buggy"].score < full
    for r in results.values():
        html = r.feedback.read_text(encoding="utf-8")
        for marker in LEAKS:
            assert marker not in html, f"{r.student}'s feedback shows {marker!r}"
        assert "def test_" not in html and "@pytest" not in html, f"{r.student}'s feedback shows hidden source"
    buggy_html = results["buggy"].feedback.read_text(encoding="utf-8")
    assert "hidden test(s) failed" in buggy_html or "refill is capped at capacity" in buggy_html, \
        "feedback must say which check failed"
    untouched_html = results["untouched"].feedback.read_text(encoding="utf-8")
    assert "self._tokens -= cost" not in untouched_html, "feedback must not reveal the solution"
    print(json.dumps({k: v.score for k, v in results.items()}))
