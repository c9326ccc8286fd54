"""``make grade-demo``: nbgrader end to end on three synthetic submissions per assignment.

For every assignment in ``solutions/``: generate the release -> submit a correct, an untouched
and a buggy notebook -> autograde -> generate feedback -> print the scores. Everything happens
in a scratch course under ``grading/demo`` so the committed ``exercises/`` and any real
gradebook are never touched.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .release import SCRATCH_RELEASE, assignments, nbgrader

ROOT = Path(__file__).resolve().parent.parent

#: Each assignment's buggy student makes one plausible mistake in one solution cell:
#: ``{assignment: {grade_id: (right, wrong)}}``, applied by string replacement on the solution.
BUGS: dict[str, dict[str, tuple[str, str]]] = {
    # The contract's formula in floats: an exact multiple gains a server from rounding error.
    "00_high_load_systems": {
        "required_servers": ("return math.ceil(peak_rps / usable_rps)",
                             "return math.ceil(requests_per_day / SECONDS_PER_DAY * peak_factor"
                             " / (capacity_per_server * (1 - headroom)))"),
    },
    # Smooth weighted round robin that breaks ties to the last server instead of the earliest.
    "01_scaling_and_load_balancing": {
        "smooth_weighted": ("self.current[server] > self.current[best]",
                            "self.current[server] >= self.current[best]"),
    },
    # remove_item forgets to refresh the cart's TTL: only add_item keeps a cart alive.
    "02_stateless_vs_stateful": {
        "redis_cart_store": ("redis.call('PEXPIRE', key, ttl)", ""),
    },
    # A replica exactly at the session's token is skipped: strictly ahead instead of caught up.
    "04_replication_and_consistency": {
        "session_router": ("if applied >= need:", "if applied > need:"),
    },
    # The entry's age counts from before the load, so a slow load eats into its TTL.
    "03_cache_strategies": {
        "cache_aside": ("self._entries[key] = (value, self.clock())",
                        "self._entries[key] = (value, now)"),
    },
    # A key that lands exactly on a vnode skips it: "first position > hash" instead of ">=".
    "05_sharding": {
        "ring": ('i = bisect_left(self._ring, (h, ""))', 'i = bisect_left(self._ring, (h + 1, ""))'),
    },
    # A refill that is not capped at capacity.
    "08_rate_limiting": {
        "token_bucket": ("min(self.capacity, self._tokens + (now - self._last) * self.refill_rate)",
                         "self._tokens + (now - self._last) * self.refill_rate"),
    },
    # Half-open only after open_timeout has been *exceeded*, not reached: off by one boundary.
    "09_circuit_breaker": {
        "circuit_breaker": ("self.clock() - self._opened_at >= self.open_timeout",
                            "self.clock() - self._opened_at > self.open_timeout"),
    },
}


@dataclass(frozen=True)
class Result:
    assignment: str
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


def _students(assignment: str) -> dict[str, dict[str, tuple[str, str]] | None]:
    """Who submits: the buggy student only where the assignment has a bug to make."""
    students: dict[str, dict[str, tuple[str, str]] | None] = {"correct": {}, "untouched": None}
    if assignment in BUGS:
        students["buggy"] = BUGS[assignment]
    return students


def run(course: Path | None = None, only: tuple[str, ...] = ()) -> list[Result]:
    course = course or ROOT / "grading" / "demo"
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(ROOT / "solutions", course / "solutions",
                    ignore=lambda d, names: [n for n in names if only and Path(d) == ROOT / "solutions" and n not in only])

    submitted: dict[str, list[str]] = {}
    for assignment in assignments(course):
        nbgrader(course, "generate_assignment", assignment, "--force")
        name = f"{assignment}.ipynb"
        release = course / SCRATCH_RELEASE / assignment / name
        source = course / "solutions" / assignment / name
        submitted[assignment] = []
        for student, bugs in _students(assignment).items():
            folder = course / "grading" / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(_submission(release, source, bugs), folder / name)
            submitted[assignment].append(student)
        nbgrader(course, "autograde", assignment, "--force")
        nbgrader(course, "generate_feedback", assignment, "--force")

    from nbgrader.api import Gradebook

    results = []
    with Gradebook(f"sqlite:///{course / 'grading' / 'gradebook.db'}") as gradebook:
        for assignment, students in submitted.items():
            for student in students:
                sub = gradebook.find_submission(assignment, student)
                feedback = course / "grading" / "feedback" / student / assignment / f"{assignment}.html"
                results.append(Result(assignment, student, sub.score, sub.max_score, feedback))
    return results


def main() -> int:
    results = run()
    width = max(len(r.assignment) for r in results)
    print(f"{'assignment':<{width}}  {'student':<10} {'score':>6} / max")
    for r in results:
        print(f"{r.assignment:<{width}}  {r.student:<10} {r.score:>6g} / {r.max_score:<4g} "
              f"feedback: {r.feedback.relative_to(ROOT)}")
    scores: dict[str, dict[str, float]] = {}
    for r in results:
        scores.setdefault(r.assignment, {})[r.student] = r.score
    print(json.dumps(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
