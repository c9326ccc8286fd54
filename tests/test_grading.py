"""nbgrader end to end: the committed release is fresh, leaks nothing, and grades as it should."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
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


def _solution_lines(source: Path) -> list[str]:
    """The distinctive lines between BEGIN and END SOLUTION: none may reach a student."""
    lines, inside = [], False
    for cell in nbformat.read(source, 4).cells:
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 24:
                lines.append(line.strip())
    return lines


def _points(source: Path) -> float:
    return sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nbformat.read(source, 4).cells
               if c.metadata.get("nbgrader", {}).get("grade"))


def _text(page: Path) -> str:
    """What a reader sees in an HTML page: tags dropped, entities decoded (code is split into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


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
    sources = "\n".join(c.source for c in nbformat.read(notebook, 4).cells)
    solution = _solution_lines(ROOT / "solutions" / notebook.relative_to(ROOT / "exercises"))
    assert solution, "the source notebook must have solution code"
    leaked = [line for line in solution if line in sources]
    assert not leaked, f"{notebook.name} shows solution lines: {leaked[:3]}"


def test_every_assignment_has_a_buggy_student():
    assert set(demo.BUGS) == set(release.assignments()), "give every assignment one plausible bug in demo.BUGS"


@pytest.mark.timeout(900)  # nbgrader x 3 students x every assignment: minutes on 2 cores
def test_grade_demo_scores_and_feedback(tmp_path):
    results = demo.run(tmp_path / "course")
    by_assignment: dict[str, dict[str, demo.Result]] = {}
    for r in results:
        by_assignment.setdefault(r.assignment, {})[r.student] = r
    assert set(by_assignment) == set(release.assignments())
    for assignment, students in by_assignment.items():
        source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
        full = students["correct"].max_score
        assert full == _points(source) > 0, f"{assignment}: max score"
        assert students["correct"].score == full, f"{assignment}: the correct answer must score full marks"
        assert students["untouched"].score == 0, f"{assignment}: the untouched release must score 0"
        assert 0 < students["buggy"].score < full, f"{assignment}: one bug must cost some points, not all"
        for r in students.values():
            text = _text(r.feedback)
            for marker in LEAKS:
                assert marker not in text, f"{assignment}: {r.student}'s feedback shows {marker!r}"
            assert "def test_" not in text and "@pytest" not in text, \
                f"{assignment}: {r.student}'s feedback shows hidden source"
        assert re.search(r"\w+Error: \S", _text(students["buggy"].feedback)), \
            f"{assignment}: feedback must say which check failed, and why"
        untouched = _text(students["untouched"].feedback)
        leaked = [line for line in _solution_lines(source) if line in untouched]
        assert not leaked, f"{assignment}: feedback reveals the solution: {leaked[:3]}"
    print(json.dumps({a: {s: r.score for s, r in st.items()} for a, st in by_assignment.items()}))


@pytest.mark.timeout(600)
def test_make_grade_from_a_fresh_clone_grades_into_grading_and_never_touches_exercises(tmp_path):
    """`make grade` on a one-assignment course: grades.csv under grading/, exercises/ unchanged,
    and a committed release that drifted from solutions/ stops it."""
    from autograder import instructor

    assignment = "08_rate_limiting"
    name = f"{assignment}.ipynb"
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder / assignment, tmp_path / folder / assignment)
    committed = (tmp_path / "exercises" / assignment / name).read_bytes()
    student = tmp_path / "grading" / "submitted" / "ada" / assignment
    student.mkdir(parents=True)
    shutil.copy(tmp_path / "exercises" / assignment / name, student / name)  # untouched: 0 points
    assert instructor.grade(tmp_path) == 0
    assert (tmp_path / "exercises" / assignment / name).read_bytes() == committed
    rows = (tmp_path / "grading" / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("assignment,") and any(",ada," in row for row in rows[1:]), rows
    assert (tmp_path / "grading" / "feedback" / "ada" / assignment / f"{assignment}.html").exists()

    nb = nbformat.read(tmp_path / "exercises" / assignment / name, 4)
    nb.cells[0].source += "\nstale"
    nbformat.write(nb, tmp_path / "exercises" / assignment / name)
    assert instructor.grade(tmp_path) == 1


def test_the_course_config_loads_when_nbgrader_runs_from_another_folder(tmp_path):
    # `python -m bench grading` (and an instructor's own config) exec nbgrader_config.py from
    # another folder, where the repo root is not on sys.path.
    code = ("from traitlets.config import Config\n"
            "c = Config()\n"
            "get_config = lambda: c\n"
            f"__file__ = {str(ROOT / 'nbgrader_config.py')!r}\n"
            "exec(compile(open(__file__).read(), __file__, 'exec'))\n"
            "print(c.Autograde.autograde_preprocessors[0].__name__)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["GradeCells"]
