"""Runs one hidden suite against one target (class, function or module) and reports by test name, never by source."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SUITES = HERE / "suites"
#: nbgrader sets this while autograding; only then must the answer not come from highload.
GRADING_ENV = ("NBGRADER_EXECUTION", "autograde")
#: Per-test time limit: an infinite loop costs one test, not the whole cell. Generous, because
#: a grading machine may be busy: at 3 s the carts model test timed out even for the reference
#: while other jobs loaded the machine.
TEST_TIMEOUT = 10


@dataclass(frozen=True)
class Outcome:
    name: str
    group: str
    passed: bool
    message: str = ""


@dataclass
class Report:
    suite: str
    group: str | None
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def summary(self) -> str:
        scope = f"{self.suite}[{self.group}]" if self.group else self.suite
        ok = sum(o.passed for o in self.outcomes)
        lines = [f"{scope}: {ok}/{len(self.outcomes)} hidden tests passed"]
        for o in self.outcomes:
            mark = "PASS" if o.passed else "FAIL"
            lines.append(f"  {mark} {o.name}" + (f": {o.message}" if o.message else ""))
        return "\n".join(lines)


def suites() -> list[str]:
    return sorted(p.stem for p in SUITES.glob("*.py") if not p.name.startswith("_"))


def load_target(spec: str):
    """``"package.module:Name"`` -> the object; ``"package.module"`` -> the module itself.

    A suite that needs several names (``balancing``) takes a module, or any object with those names.
    """
    module, sep, name = spec.partition(":")
    if not module or (sep and not name):
        raise ValueError(f"target must look like 'module:Name' or 'module', got {spec!r}")
    loaded = importlib.import_module(module)
    return getattr(loaded, name) if sep else loaded


def _from_highload(obj) -> bool:
    classes = getattr(obj, "__mro__", (obj,))
    return any(str(getattr(c, "__module__", "")).split(".")[0] == "highload" for c in classes)


def _target_names(suite: str) -> tuple[str, ...]:
    """The names a suite reads from a module target (its ``TARGET_NAMES``), if it reads any."""
    with warnings.catch_warnings():  # its marks are registered only inside the suite's own session
        warnings.simplefilter("ignore")
        module = importlib.import_module(f"{__package__}.suites.{suite}")
    return tuple(getattr(module, "TARGET_NAMES", ()))


def _borrowed_from_highload(target, names: tuple[str, ...] = ()) -> bool:
    """A class or function from highload (or a subclass), a highload module, or a namespace
    (module, SimpleNamespace) whose graded ``names`` come from highload. Other names in a
    notebook's namespace (``from highload.clock import ManualClock``) are not the answer."""
    if isinstance(target, types.ModuleType) and target.__name__.split(".")[0] == "highload":
        return True
    if _from_highload(target):
        return True
    return not callable(target) and any(_from_highload(getattr(target, n, None)) for n in names)


class _Plugin:
    """Gives the suite its ``target`` fixture, keeps one group, and records outcomes."""

    def __init__(self, target, group: str | None) -> None:
        self._target, self._group = target, group
        self.outcomes: list[Outcome] = []
        self.errors: list[str] = []

    @pytest.fixture
    def target(self):
        return self._target

    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for item in items:
            marker = item.get_closest_marker("group")
            item.user_properties.append(("group", marker.args[0] if marker else ""))
            (keep if self._group is None or (marker and marker.args[0] == self._group) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(_first_line(report))

    def pytest_runtest_logreport(self, report):
        # A failure in setup or teardown counts too; a pass counts only for the call phase.
        if report.when == "call" or report.failed:
            group = dict(report.user_properties).get("group", "")
            name = report.nodeid.rsplit("::", 1)[-1]
            self.outcomes = [o for o in self.outcomes if o.name != name]
            self.outcomes.append(Outcome(name, group, report.passed, "" if report.passed else _first_line(report)))


def _first_line(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text.strip().splitlines()[0][:300] if text.strip() else "failed"


def check(suite: str, target, group: str | None = None, *, timeout: float = TEST_TIMEOUT) -> Report:
    """Run ``suite`` (optionally one ``group``) against ``target``; never raises for failures."""
    if suite not in suites():
        raise ValueError(f"suite must be one of {suites()}, got {suite!r}")
    report = Report(suite, group)
    if os.environ.get(GRADING_ENV[0]) == GRADING_ENV[1] and _borrowed_from_highload(target, _target_names(suite)):
        report.outcomes.append(Outcome("answer_is_your_own", group or "", False,
                                       "code from highload (a class, function or module, or a subclass) is not an answer"))
        return report
    plugin = _Plugin(target, group)
    args = [
        str(SUITES / f"{suite}.py"),
        "-c", str(HERE / "pytest.ini"), "--rootdir", str(HERE),
        "-q", "--color=no", "--assert=plain", "-p", "no:cacheprovider",
        "--import-mode=importlib", f"--timeout={timeout}", "--timeout-method=signal",
    ]
    sink = io.StringIO()
    # Anything the suite or the student's code prints must not reach the cell (stderr scores 0).
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        pytest.main(args, plugins=[plugin])
    report.outcomes.extend(plugin.outcomes)
    for error in plugin.errors:
        report.outcomes.append(Outcome("suite_collection", group or "", False, error))
    if not report.outcomes:
        report.outcomes.append(Outcome("suite_selection", group or "", False, f"no tests in group {group!r}"))
    return report


def run(suite: str, target, group: str | None = None) -> None:
    """For graded cells: print the report, raise ``AssertionError`` naming failed tests."""
    report = check(suite, target, group)
    print(report.summary())
    if not report.passed:
        _minimal_tracebacks()
        names = ", ".join(o.name for o in report.failures)
        raise AssertionError(f"{len(report.failures)} hidden test(s) failed: {names}")


def _minimal_tracebacks() -> None:
    # In a notebook, show the failing test names, not the runner's (or the suite's) source.
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    if shell is not None:
        with contextlib.suppress(Exception):
            shell.InteractiveTB.set_mode("Minimal")
