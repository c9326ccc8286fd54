"""The trusted grading step of ``nbgrader autograde``: no kernel, one sandboxed interpreter per graded cell.

``GradeCells`` replaces nbgrader's ``Execute`` in ``c.Autograde.autograde_preprocessors``. For each
graded cell it runs ``_cell.py`` (see there for the order of operations), then writes the cell's
outputs itself: a report on stdout and a float ``execute_result`` holding the points earned,
which nbgrader's ``determine_grade`` takes as partial credit. Nothing graded code prints can
change a score: it never reaches the cell as stderr, and the score is computed here.

Score of a cell = points x (tests passed / tests), where the tests are the cell's visible
asserts (as one test) and its hidden tests; credit needs the visible asserts to pass, which
the release stub never does, so an untouched notebook scores 0.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import secrets
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Int

from . import sandbox

HERE = Path(__file__).resolve().parent
VISIBLE = "visible asserts"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
#: uids for graded cells: unused by any account, one per concurrently graded cell.
UID_BASE = 200_000
_uids = iter(range(10**9))
_uid_lock = threading.Lock()


@dataclass(frozen=True)
class Limits:
    test_cpu: float = 10.0      # CPU seconds per test (and per answer cell)
    group_cpu: float = 60.0     # CPU seconds for the whole cell's interpreter, startup included
    memory_mb: int = 2048       # address space
    file_mb: int = 16           # largest file graded code may write
    processes: int = 16         # processes and threads of the cell's uid
    output_bytes: int = 4096    # graded code's stdout + stderr kept for the report
    wall_backstop: float = 300  # never part of scoring: only stops a process stuck off-CPU (sleeping)


@dataclass(frozen=True)
class Run:
    suite: str
    target: str
    group: str | None


@dataclass
class CellJob:
    grade_id: str
    points: float
    setup: list[tuple[int, str]]
    answers: list[tuple[int, str]]
    visible: str
    runs: list[Run]


@dataclass
class Outcome:
    name: str
    passed: bool
    message: str = ""


@dataclass
class CellResult:
    job: CellJob
    tests: list[str] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    output: str = ""
    mode: str = ""

    @property
    def score(self) -> float:
        visible = self.outcomes.get(VISIBLE)
        if visible is None or not visible.passed or not self.tests:
            return 0.0
        passed = sum(1 for name in self.tests if name in self.outcomes and self.outcomes[name].passed)
        return round(self.job.points * passed / len(self.tests), 4)

    def report(self) -> str:
        passed = sum(1 for n in self.tests if n in self.outcomes and self.outcomes[n].passed)
        scope = ", ".join(f"{r.suite}[{r.group}]" if r.group else r.suite for r in self.job.runs) or self.job.grade_id
        lines = [f"{scope}: {passed}/{len(self.tests)} tests passed, "
                 f"{self.score:g} of {self.job.points:g} points"]
        visible = self.outcomes.get(VISIBLE)
        if visible is not None and not visible.passed:
            lines.append("  no credit for this cell until its visible asserts pass")
        for name in self.tests:
            o = self.outcomes.get(name) or Outcome(name, False, "not run")
            mark = "PASS" if o.passed else "FAIL"
            lines.append(f"  {mark} {name}" + (f": {o.message}" if o.message else ""))
        for name, o in self.outcomes.items():
            if name not in self.tests and not o.passed:
                lines.append(f"  ERROR in {name}: {o.message}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.flagged:
            lines.append(f"  flagged for manual review (introspection: {', '.join(self.flagged)})")
        if self.output.strip():
            shown = self.output.splitlines()[:10]
            lines.append("Output of your code (first lines; output never changes a score):")
            lines += [f"  | {line[:200]}" for line in shown]
        return "\n".join(lines)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) if cell.cell_type == "code" else {}


def _split_hidden(source: str) -> tuple[str, str]:
    if HIDDEN_BEGIN not in source:
        return source, ""
    before, _, rest = source.partition(HIDDEN_BEGIN)
    hidden, _, after = rest.partition(HIDDEN_END)
    return before + after, hidden


def _runs(hidden: str) -> list[Run]:
    """The ``autograder.run(suite, target, group=...)`` calls of a hidden block: parsed, never executed."""
    runs = []
    for node in ast.walk(ast.parse(hidden)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "autograder"):
            suite = ast.literal_eval(node.args[0])
            target = ast.get_source_segment(hidden, node.args[1])
            group = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "group"),
                         ast.literal_eval(node.args[2]) if len(node.args) > 2 else None)
            runs.append(Run(suite, target, group))
    return runs


def plan(nb) -> list[tuple[int, CellJob]]:
    """One job per graded code cell: the locked setup and answer cells above it, its visible part, its runs."""
    jobs, setup, answers = [], [], []
    for index, cell in enumerate(nb.cells):
        meta = _meta(cell)
        if not meta:
            continue
        if meta.get("solution") and not meta.get("grade"):
            answers.append((index, cell.source))
        elif meta.get("locked") and not meta.get("grade") and not meta.get("solution"):
            setup.append((index, cell.source))
        elif meta.get("grade") and not meta.get("solution"):
            visible, hidden = _split_hidden(cell.source)
            jobs.append((index, CellJob(meta.get("grade_id", str(index)), float(meta.get("points", 0)),
                                        list(setup), list(answers), visible, _runs(hidden))))
    return jobs


def _suite_source(name: str) -> str:
    if name not in {p.stem for p in (HERE / "suites").glob("*.py")}:
        raise ValueError(f"unknown suite {name!r}")
    return (HERE / "suites" / f"{name}.py").read_text(encoding="utf-8")


def _next_uid() -> int | None:
    if os.getuid() != 0:
        return None
    with _uid_lock:
        return UID_BASE + (os.getpid() % 10_000) * 100 + next(_uids) % 100


def _kill_uid(uid: int | None) -> None:
    """Whatever the cell's uid left running (a fork bomb's children): kill(-1) as that uid."""
    if uid is not None:
        subprocess.run(["/bin/sh", "-c", "kill -KILL -1"],
                       user=uid, group=uid, extra_groups=[], capture_output=True, check=False)


def _attempt(job: CellJob, limits: Limits, skip: list[str], result: CellResult) -> tuple[str | None, bool]:
    """One interpreter run. Returns (what was running when it ended early, whether that was a timeout)."""
    token = secrets.token_hex(16)
    uid = _next_uid()
    read_fd, write_fd = os.pipe()
    payload = json.dumps({
        "token": token, "channel": write_fd, "uid": uid, "skip": skip, "limits": vars(limits),
        "support": (HERE / "suites" / "_support.py").read_text(encoding="utf-8"),
        "suites": {r.suite: _suite_source(r.suite) for r in job.runs},
        "runs": [vars(r) for r in job.runs], "setup": job.setup, "answers": job.answers, "visible": job.visible,
    }).encode()
    with tempfile.TemporaryDirectory(prefix="cell-") as work:
        os.chmod(work, 0o777)
        out_path = Path(work) / "output"
        launch = sandbox.launch(work)
        result.mode = launch.mode
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(launch.argv, cwd=launch.cwd, stdin=subprocess.PIPE, stdout=out, stderr=out,
                                    pass_fds=(write_fd,), start_new_session=True, env=_env())
        os.close(write_fd)
        channel = _Reader(read_fd)
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        backstop = False
        try:
            proc.wait(timeout=limits.wall_backstop)
        except subprocess.TimeoutExpired:
            backstop = True
            result.notes.append(f"stopped after {limits.wall_backstop:g} s of waiting (the wall-clock backstop)")
        # Whatever the cell started (a fork bomb's children hold the channel open) dies with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _kill_uid(uid)
        proc.wait()
        channel.join()
        with open(out_path, "rb") as f:
            output = f.read(limits.output_bytes).decode("utf-8", "replace")
    result.output = result.output or output
    current, done, timeout, grader = None, False, False, None
    for line in channel.lines:
        tok, _, body = line.partition(" ")
        if tok != token:
            continue  # written by graded code: it cannot know the token
        rec = json.loads(body)
        grader = grader or rec["pid"]  # the first record is written before any graded code runs
        if rec["pid"] != grader:
            continue  # a fork of the grader, made by graded code
        kind = rec["k"]
        if kind == "tests":
            result.tests = [VISIBLE, *rec["names"]] if job.visible.strip() else list(rec["names"])
        elif kind == "start":
            current = rec["name"]
        elif kind == "result":
            result.outcomes[rec["name"]] = Outcome(rec["name"], rec["passed"], rec["message"])
            current = None if rec["name"] == current else current
        elif kind == "timeout":
            timeout, current = True, rec["name"]
            result.outcomes[rec["name"]] = Outcome(rec["name"], False, f"timeout: over {limits.test_cpu:g} CPU-seconds")
        elif kind == "audit":
            result.flagged.append(rec["event"])
        elif kind == "note":
            result.notes.append(rec["text"])
        elif kind == "done":
            done = True
    if done:
        return None, False
    if timeout:
        return current, True
    if current is not None and current not in result.outcomes:
        killed_by = -proc.returncode if proc.returncode and proc.returncode < 0 else None
        cpu_out = backstop or killed_by in (signal.SIGKILL, signal.SIGXCPU)  # the cell's CPU limit
        why = "timeout: the wall-clock backstop" if backstop else \
            f"timeout: the cell's CPU limit ({limits.group_cpu:g} s) ran out" if cpu_out else \
            f"ended the grading process (exit status {proc.returncode})"
        result.outcomes[current] = Outcome(current, False, why)
        return current, cpu_out
    result.notes.append(f"the grading process ended early (exit status {proc.returncode})")
    return None, True


def _env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


class _Reader:
    """Drains the result channel in a thread, keeping at most 4 MB (graded code may flood it)."""

    def __init__(self, fd: int) -> None:
        self.lines: list[str] = []
        self._fd = fd
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        chunks, size = [], 0
        with os.fdopen(self._fd, "rb") as f:
            for chunk in iter(lambda: f.read(65536), b""):
                if size < 4 * 2**20:
                    chunks.append(chunk)
                    size += len(chunk)
        self.lines = b"".join(chunks).decode("utf-8", "replace").splitlines()

    def join(self) -> None:
        self._thread.join()


def grade_cell(job: CellJob, limits: Limits = Limits()) -> CellResult:
    """Run one graded cell. An answer cell or test that ends the interpreter (os._exit, a crash)
    is recorded as failed and the cell is run again without it; a timeout is never re-run, so
    hostile code costs at most one group's CPU limit per cell."""
    result = CellResult(job)
    skip: list[str] = []
    for _ in range(len(job.answers) + 3):
        ended, timeout = _attempt(job, limits, skip, result)
        # A test that times out ends its group; an answer cell that never finishes or ends the
        # process is skipped, so the cells that do not depend on it still earn their points.
        if ended is None or (timeout and not ended.startswith("answer cell")):
            break
        skip.append(ended)
    else:
        result.notes.append("gave up: the grading process kept ending early")
    for name in result.tests:
        if name not in result.outcomes:
            reason = "earlier timeout" if any(o.name in result.tests and ("timeout" in o.message or "CPU limit" in o.message)
                                              for o in result.outcomes.values()) else "the grading process ended"
            result.outcomes[name] = Outcome(name, False, f"not run: {reason}")
    return result


class GradeCells(NbGraderPreprocessor):
    """nbgrader autograde step: grade every graded cell in its own sandboxed interpreter, in parallel."""

    test_cpu_seconds = Float(Limits.test_cpu, help="CPU seconds per test").tag(config=True)
    group_cpu_seconds = Float(Limits.group_cpu, help="CPU seconds per graded cell").tag(config=True)
    memory_mb = Int(Limits.memory_mb, help="address space per graded cell").tag(config=True)
    workers = Int(0, help="cells graded at once (0: one per core)").tag(config=True)

    def preprocess(self, nb, resources):
        limits = Limits(test_cpu=self.test_cpu_seconds, group_cpu=self.group_cpu_seconds, memory_mb=self.memory_mb)
        jobs = plan(nb)
        if sandbox.mode() == "process":
            self.log.warning("grading without bubblewrap; lost guarantees: %s", "; ".join(sandbox.LOST_WITHOUT_BWRAP))
        with ThreadPoolExecutor(self.workers or os.cpu_count() or 1) as pool:
            results = list(pool.map(lambda ij: grade_cell(ij[1], limits), jobs))
        for (index, _), result in zip(jobs, results, strict=True):
            cell = nb.cells[index]
            cell.execution_count = 1
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=result.report() + "\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": repr(result.score)}, execution_count=1),
            ]
            if result.flagged:
                self.log.warning("%s: flagged for manual review: %s", result.job.grade_id, ", ".join(result.flagged))
        return nb, resources
