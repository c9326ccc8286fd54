"""``make grade-demo``: nbgrader end to end on three synthetic submissions.

generate the release -> submit a correct, an untouched and a buggy notebook -> autograde ->
generate feedback -> print the scores. Everything happens in a scratch course under
``grading/demo`` so the committed ``exercises/`` and any real gradebook are never touched.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .release import nbgrader

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "08_rate_limiting"

#: The buggy student's mistake: a refill that is not capped at capacity.
BUGS = {
    "token_bucket": ("min(self.capacity, self._tokens + (now - self._last) * self.refill_rate)",
                     "self._tokens + (now - self._last) * self.refill_rate"),
}


@dataclass(frozen=True)
class Result:
    student: str
    score: float
    max_score: float
    feedback: Path


def _strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


def _submission(release: Path, source: Path, bugs: dict[str, tuple[str, str]] | None) -> nbformat.NotebookNode:
    """The release notebook with its solution cells filled in from the source (plus any bugs)."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(source, 4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(release, 4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if bugs is None or grade_id not in answers:
            continue
        code = _strip_solution_markers(answers[grade_id])
        if grade_id in bugs:
            right, wrong = bugs[grade_id]
            if right not in code:
                raise RuntimeError(f"the demo's bug for {grade_id} no longer applies: {right!r} not found")
            code = code.replace(right, wrong)
        cell.source = code
    return nb


def run(course: Path | None = None) -> list[Result]:
    course = course or ROOT / "grading" / "demo"
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")

    name = f"{ASSIGNMENT}.ipynb"
    release = course / "exercises" / ASSIGNMENT / name
    source = course / "solutions" / ASSIGNMENT / name
    students = {"correct": {}, "untouched": None, "buggy": BUGS}
    for student, bugs in students.items():
        folder = course / "grading" / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_submission(release, source, bugs), folder / name)

    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")

    from nbgrader.api import Gradebook

    results = []
    with Gradebook(f"sqlite:///{course / 'grading' / 'gradebook.db'}") as gradebook:
        for student in students:
            sub = gradebook.find_submission(ASSIGNMENT, student)
            feedback = course / "grading" / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
            results.append(Result(student, sub.score, sub.max_score, feedback))
    return results


def main() -> int:
    results = run()
    print(f"{'student':<10} {'score':>6} / max")
    for r in results:
        print(f"{r.student:<10} {r.score:>6g} / {r.max_score:g}   feedback: {r.feedback.relative_to(ROOT)}")
    print(json.dumps({r.student: r.score for r in results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
