"""Hostile submissions to exercise 08 (max 12: the token bucket's four cells are worth 8, the
sliding window log's cell 4), graded by real nbgrader in ONE batch autograde run.

Every hostile student answers the sliding window log honestly, so "fair" is usually 4: the
token bucket half of the notebook earns nothing when it is not the student's own working code,
and nothing a submission does may cost it, or anyone else, the points of its honest half.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import demo, grading, release, sandbox

pytestmark = pytest.mark.grading

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "08_rate_limiting"
SUITE_FILE = ROOT / "autograder" / "suites" / "token_bucket.py"
REFERENCE = "from highload.ratelimit import TokenBucket\n"
#: CPU seconds per test in this run: a hostile loop costs at most cells x this.
TEST_CPU = 3

# Code appended to (or replacing) the token bucket answer cell; the class above it is correct.
APPEND, REPLACE = "append", "replace"
HOSTILE: dict[str, tuple[str, str]] = {
    "env_pop": (REPLACE, "import os\nos.environ.pop('NBGRADER_EXECUTION', None)\n" + REFERENCE),
    "run_replaced": (REPLACE, "import autograder\nautograder.run = lambda *a, **k: None\n" + REFERENCE),
    "runner_patched": (REPLACE, "import autograder._runner\n"
                                "autograder._runner._borrowed_from_highload = lambda *a, **k: False\n" + REFERENCE),
    "run_returns_100": (REPLACE, "import autograder\nautograder.run = lambda *a, **k: 100\n" + REFERENCE),
    "delegates": (REPLACE, "class TokenBucket:\n"
                           "    def __init__(self, *args, **kwargs):\n"
                           "        from highload.ratelimit import TokenBucket as Reference\n"
                           "        self._reference = Reference(*args, **kwargs)\n"
                           "    def __getattr__(self, name):\n"
                           "        return getattr(self.__dict__['_reference'], name)\n"),
    "prints_suites": (APPEND, "import glob\n"
                              f"for path in glob.glob({str(ROOT)!r} + '/autograder/suites/*.py') + glob.glob('/tmp/**/*.py', recursive=True):\n"
                              "    print(open(path).read())\n"),
    "rewrites_suite": (APPEND, "for path in [" f"{str(SUITE_FILE)!r}" "]:\n"
                               "    try:\n"
                               "        open(path, 'w').write('def test_everything():\\n    pass\\n')\n"
                               "    except OSError as exc:\n"
                               "        print('refused:', exc)\n"),
    "logs_to_stderr": (APPEND, "import sys\n_allow = TokenBucket.allow\n"
                               "def _logged(self, cost=1):\n"
                               "    print('allow', cost, file=sys.stderr)\n"
                               "    return _allow(self, cost)\n"
                               "TokenBucket.allow = _logged\n"),
    "loops_forever": (APPEND, "def _spin(self, cost=1):\n    while True:\n        pass\nTokenBucket.retry_after = _spin\n"),
    "swallows_everything": (APPEND, "while True:\n    try:\n        pass\n    except BaseException:\n        pass\n"),
    "exits": (APPEND, "import os\nos._exit(0)\n"),
    "allocates_20gb": (APPEND, "_init = TokenBucket.__init__\n"
                               "def _hog(self, *args, **kwargs):\n"
                               "    self.hog = bytearray(20 * 2**30)\n"
                               "    _init(self, *args, **kwargs)\n"
                               "TokenBucket.__init__ = _hog\n"),
    "fork_bomb": (REPLACE, "import os\nwhile True:\n    os.fork()\n"),
    "gigabyte_of_stdout": (APPEND, "import os, sys\nchunk = 'x' * 2**20\n"
                                   "for _ in range(1024):\n    sys.stdout.write(chunk)\n"
                                   "try:\n    for _ in range(1024):\n        os.write(1, chunk.encode())\n"
                                   "except OSError:\n    pass\n"),
    "fills_tmp": (APPEND, "try:\n    with open('/tmp/fill', 'wb') as f:\n        while True:\n"
                          "            f.write(b'x' * 2**20)\n"
                          "except OSError:\n    pass\n"),
    "always_equal": (APPEND, "class _Equal:\n    def __eq__(self, other):\n        return True\n"
                             "    def __bool__(self):\n        return True\n"
                             "TokenBucket.tokens = property(lambda self: _Equal())\n"
                             "TokenBucket.retry_after = lambda self, cost=1: _Equal()\n"),
    "introspects": (APPEND, "import sys\n_frame = sys._getframe(0)\n"),
}
#: The fair score of each, and why (the reason is asserted in the report of a named cell).
FAIR: dict[str, float] = {name: 4.0 for name in HOSTILE}
FAIR.update({
    "prints_suites": 12.0, "rewrites_suite": 12.0, "logs_to_stderr": 12.0, "gigabyte_of_stdout": 12.0,
    "fills_tmp": 12.0, "introspects": 12.0,
    # retry_after never returns: its cell's visible asserts time out; in the edge cell the first
    # test that calls it times out and the cell's remaining 6 tests are not run (9 of 16 pass).
    "loops_forever": 9.125,
    # tokens and retry_after return an object equal to anything: refused wherever they are read;
    # the edge cell's 10 tests of allow() and validation still pass (1.25 of 2).
    "always_equal": 5.25,
})
REASONS: dict[str, tuple[str, str]] = {
    "env_pop": ("test_basics", "ModuleNotFoundError: No module named 'highload.ratelimit'"),
    "run_replaced": ("test_basics", "ModuleNotFoundError: No module named 'autograder'"),
    "runner_patched": ("test_basics", "ModuleNotFoundError: No module named 'autograder'"),
    "run_returns_100": ("test_basics", "ModuleNotFoundError: No module named 'autograder'"),
    "delegates": ("test_basics", "No module named 'highload.ratelimit'"),
    "loops_forever": ("test_retry_after", f"FAIL visible asserts: timeout: over {TEST_CPU} CPU-seconds"),
    "swallows_everything": ("test_basics", f"timeout: over {TEST_CPU} CPU-seconds"),
    "exits": ("test_basics", "ended the grading process (exit status 0)"),
    "allocates_20gb": ("test_basics", "MemoryError"),
    "fork_bomb": ("test_basics", "BlockingIOError"),
    "logs_to_stderr": ("test_basics", "| allow 1"),
    "gigabyte_of_stdout": ("test_basics", "| xxxxxxxx"),
    "always_equal": ("test_basics", "returned a _Equal with its own ==: return a plain value"),
    "introspects": ("test_basics", "flagged for manual review (introspection: sys._getframe)"),
}


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def _hidden_lines() -> set[str]:
    """Distinctive lines of every hidden suite that the release does not show anyway: none may
    appear in any feedback."""
    shown = (ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    return {line.strip() for p in (ROOT / "autograder" / "suites").glob("*.py")
            for line in p.read_text(encoding="utf-8").splitlines()
            if len(line.strip()) >= 30 and json.dumps(line.strip())[1:-1] not in shown}


def _hostile(release_nb: Path, source: Path, how: str, code: str) -> nbformat.NotebookNode:
    nb = demo._submission(release_nb, source, {})
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "token_bucket":
            cell.source = code if how == REPLACE else cell.source + "\n\n" + code
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One course, one `nbgrader autograde` over every submission; returns scores, reports and feedback."""
    course = tmp_path_factory.mktemp("hostile")
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    suite_hash = hashlib.sha256(SUITE_FILE.read_bytes()).hexdigest()
    release.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    name = f"{ASSIGNMENT}.ipynb"
    release_nb = course / release.SCRATCH_RELEASE / ASSIGNMENT / name
    source = course / "solutions" / ASSIGNMENT / name
    students = {student: _hostile(release_nb, source, how, code) for student, (how, code) in HOSTILE.items()}
    students["buggy"] = demo._submission(release_nb, source, demo.BUGS[ASSIGNMENT])
    students["correct"] = demo._submission(release_nb, source, {})
    for student, nb in students.items():
        folder = course / "grading" / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / name)
    release.nbgrader(course, "autograde", ASSIGNMENT, "--force", f"--GradeCells.test_cpu_seconds={TEST_CPU}")
    release.nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    from nbgrader.api import Gradebook

    scores, reports, feedback = {}, {}, {}
    with Gradebook(f"sqlite:///{course / 'grading' / 'gradebook.db'}") as gradebook:
        for student in students:
            scores[student] = gradebook.find_submission(ASSIGNMENT, student).score
            autograded = nbformat.read(course / "grading" / "autograded" / student / ASSIGNMENT / name, 4)
            reports[student] = {c.metadata["nbgrader"]["grade_id"]: "".join(o.get("text", "") for o in c.outputs)
                                for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade")}
            feedback[student] = _text(course / "grading" / "feedback" / student / ASSIGNMENT / name.replace(".ipynb", ".html"))
    assert hashlib.sha256(SUITE_FILE.read_bytes()).hexdigest() == suite_hash, "a submission rewrote a hidden suite"
    return scores, reports, feedback


@pytest.mark.timeout(900)
@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_hostile_submission_scores_its_fair_score(graded, student):
    scores, reports, _ = graded
    assert scores[student] == pytest.approx(FAIR[student]), "\n".join(reports[student].values())
    if student in REASONS:
        cell, reason = REASONS[student]
        assert reason in reports[student][cell], reports[student][cell]


@pytest.mark.timeout(900)
def test_honest_submissions_are_unaffected_by_the_batch(graded):
    scores, reports, _ = graded
    assert scores["correct"] == 12
    # The buggy refill loses the refill cell and the one retry_after test that needs the cap.
    assert scores["buggy"] == pytest.approx(9.75), "\n".join(reports["buggy"].values())


@pytest.mark.timeout(900)
def test_no_feedback_shows_hidden_suite_source(graded):
    _, _, feedback = graded
    hidden = _hidden_lines()
    for student, text in feedback.items():
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{student}'s feedback shows hidden-suite lines: {leaked[:3]}"


def test_the_fallback_without_bubblewrap_still_grades_and_says_what_it_loses(monkeypatch, tmp_path):
    monkeypatch.setenv(sandbox.MODE_ENV, "process")
    assert sandbox.mode() == "process" and sandbox.LOST_WITHOUT_BWRAP
    nb = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    (index, job), *_ = grading.plan(nb)
    limits = grading.Limits(test_cpu=TEST_CPU)
    honest = grading.grade_cell(job, limits)
    assert honest.mode == "process" and honest.score == job.points, honest.report()
    # A fork bomb before the class, then os._exit: the cell loses its points and nothing else happens.
    bad = grading.CellJob(job.grade_id, job.points, job.setup,
                          [(i, "import os\nwhile True:\n    os.fork()\n") for i, _ in job.answers], job.visible, job.runs)
    result = grading.grade_cell(bad, limits)
    assert result.score == 0 and "BlockingIOError" in result.report(), result.report()
    # The reference answers are absent even though this venv has highload installed (editable).
    probe = grading.grade_cell(grading.CellJob("probe", 1, [], [(0, "import highload.ratelimit")], "pass", []), limits)
    assert "No module named 'highload.ratelimit'" in probe.report(), probe.report()
