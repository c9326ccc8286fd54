"""``make grade``: grade the cohort in ``grading/submitted/<student>/<assignment>/`` from a fresh clone.

For every assignment: generate its release into the scratch folder ``grading/release/`` (which
also records it in the gradebook) and check it equals the committed ``exercises/`` — the
committed release is never deleted or rewritten here — then autograde every submission (two
graded cells at a time, one per core), write feedback, and export ``grading/grades.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from .release import ROOT, SCRATCH_RELEASE, assignments, nbgrader


def normalized(path: Path) -> list[dict]:
    """What a release notebook is made of, ignoring outputs and ids."""
    nb = nbformat.read(path, 4)
    return [{"type": c.cell_type, "source": c.source, "nbgrader": c.metadata.get("nbgrader")} for c in nb.cells]


def stale_releases(course: Path, scratch: Path) -> list[str]:
    """Committed release notebooks that differ from (or lack) a freshly generated one."""
    stale = []
    for fresh in sorted(scratch.rglob("*.ipynb")):
        committed = course / "exercises" / fresh.relative_to(scratch)
        if not committed.exists() or normalized(committed) != normalized(fresh):
            stale.append(str(committed.relative_to(course)))
    return stale


def grade(course: Path = ROOT) -> int:
    scratch = course / SCRATCH_RELEASE
    for assignment in assignments(course):
        nbgrader(course, "generate_assignment", assignment, "--force")
    stale = stale_releases(course, scratch)
    if stale:
        print("the committed release differs from solutions/ (run `make release`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    submitted = course / "grading" / "submitted"
    for assignment in assignments(course):
        if any(submitted.glob(f"*/{assignment}/*.ipynb")):
            nbgrader(course, "autograde", assignment, "--force")
            nbgrader(course, "generate_feedback", assignment, "--force")
            print(f"graded {assignment}")
    nbgrader(course, "export", f"--CsvExportPlugin.to={course / 'grading' / 'grades.csv'}")
    print(f"grades: {(course / 'grading' / 'grades.csv').relative_to(course)}; "
          f"feedback: grading/feedback/<student>/<assignment>/")
    return 0


if __name__ == "__main__":
    sys.exit(grade())
