"""The grading interpreter for ONE graded cell: started by ``autograder.grading`` as
``python -I -S _cell.py`` (inside bubblewrap when available) with the job on stdin.

Order matters, it is the security argument:
1. read the whole job (hidden suite source included) from stdin into memory;
2. set hard rlimits on this process (CPU, address space, file size, processes);
3. write the suite to a root-only private file, let pytest collect it, delete the file;
4. drop to an unprivileged uid that owns nothing, then run the locked setup cells, the
   answer cells (each in its own try), the cell's visible asserts, then the hidden tests.
Results go to an inherited pipe, each line prefixed with a token only this process knows, so code under
test can write to that pipe but cannot forge a result. Only the standard library, pytest and
hypothesis may be imported here: this file runs with an explicit, minimal ``sys.path``.
"""

from __future__ import annotations

import json
import os
import sys

JOB = json.loads(sys.stdin.buffer.read())
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)

import builtins  # noqa: E402
import linecache  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import types  # noqa: E402

_TOKEN = JOB.pop("token")
_CHANNEL = os.fdopen(JOB.pop("channel"), "w", buffering=1, encoding="utf-8")
_CLEAN_BUILTINS = dict(vars(builtins))


def emit(**record) -> None:
    try:
        # The pid tells the parent which process is the grader: a fork of it knows the token too.
        _CHANNEL.write(f"{_TOKEN} {json.dumps({**record, 'pid': os.getpid()})}\n")
        _CHANNEL.flush()
    except Exception:  # a closed channel: the parent records the cell as ended early
        pass


def _limit(which: int, soft: float, hard: float | None = None) -> None:
    hard = soft if hard is None else hard
    resource.setrlimit(which, (int(soft), int(hard)))


limits = JOB["limits"]
# CPU time, not wall time: a grade must not depend on how busy the machine is.
_limit(resource.RLIMIT_CPU, limits["group_cpu"], limits["group_cpu"] + 1)
_limit(resource.RLIMIT_AS, limits["memory_mb"] * 2**20)
_limit(resource.RLIMIT_FSIZE, limits["file_mb"] * 2**20)
_limit(resource.RLIMIT_CORE, 0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails with EFBIG instead of killing


class CappedOutput:
    """sys.stdout and sys.stderr for code under test: the first bytes reach the report, the rest is dropped."""

    def __init__(self, fd: int, cap: int) -> None:
        self._fd, self._left = fd, cap
        self.encoding, self.errors = "utf-8", "replace"

    def write(self, text) -> int:
        text = str(text)
        if self._left > 0:
            data = text.encode("utf-8", "replace")[: self._left]
            self._left -= len(data)
            try:
                os.write(self._fd, data)
            except OSError:
                self._left = 0
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd


class State:
    current = "startup"
    timed_out = False
    flagged: set[str] = set()
    in_hook = threading.local()


def _on_cpu_timeout(signum, frame) -> None:
    # Code under test may swallow any exception, so a timeout ends the process: the parent
    # records this test as timed out and the group's remaining tests as not run.
    emit(k="timeout", name=State.current)
    os._exit(0)


signal.signal(signal.SIGPROF, _on_cpu_timeout)


def _arm(name: str) -> None:
    State.current = name
    emit(k="start", name=name)
    signal.setitimer(signal.ITIMER_PROF, limits["test_cpu"])


def _disarm() -> None:
    signal.setitimer(signal.ITIMER_PROF, 0)


# Introspection of the grader from code under test is out of scope for the sandbox; these
# audit events flag it for manual review.
_WATCHED = {"sys._getframe", "sys._current_frames", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
            "object.__getattr__", "sys.settrace", "sys.setprofile", "ctypes.dlopen", "ctypes.dlsym",
            "ctypes.addressof", "signal.setitimer", "signal.signal", "resource.setrlimit"}


def _audit(event: str, args) -> None:
    if event not in _WATCHED or getattr(State.in_hook, "on", False):
        return
    State.in_hook.on = True
    try:
        frame = sys._getframe(1)
        for _ in range(2):
            if frame is None:
                break
            if frame.f_code.co_filename.startswith("<cell"):
                if event not in State.flagged:
                    State.flagged.add(event)
                    emit(k="audit", event=event)
                break
            frame = frame.f_back
    finally:
        State.in_hook.on = False


def _install_support() -> None:
    """The suites import ``autograder.suites._support``: give them an in-memory copy only."""
    for name in ("autograder", "autograder.suites"):
        module = types.ModuleType(name)
        module.__path__ = []
        sys.modules[name] = module
    support = types.ModuleType("autograder.suites._support")
    exec(compile(JOB["support"], "<support>", "exec"), support.__dict__)
    sys.modules[support.__name__] = support


def _drop_privileges() -> None:
    uid = JOB.get("uid")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        # Counted per uid, and this uid is this cell's alone: a fork bomb stops here.
        _limit(resource.RLIMIT_NPROC, limits["processes"])


def _run_student_code(namespace: dict) -> None:
    skip = set(JOB["skip"])
    for index, source in JOB["setup"]:
        _exec_cell(f"setup cell {index}", source, namespace, record=True)
    for index, source in JOB["answers"]:
        name = f"answer cell {index}"
        if name in skip:
            continue
        _exec_cell(name, source, namespace, record=True)
    for value in list(namespace.values()):
        if isinstance(value, type):
            _guard(value)
    if "visible asserts" not in skip:
        _exec_cell("visible asserts", JOB["visible"], namespace, record=False)


def _exec_cell(name: str, source: str, namespace: dict, record: bool) -> None:
    _arm(name)
    try:
        exec(compile(source, f"<cell: {name}>", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - a student's SystemExit or KeyboardInterrupt is an error too
        _disarm()
        emit(k="result", name=name, passed=False, message=_describe(exc))
        return
    _disarm()
    if not record:
        emit(k="result", name=name, passed=True, message="")


def _describe(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        text = type(exc).__name__
    return text.strip().splitlines()[0][:300] if text.strip() else "failed"


class Plugin:
    def __init__(self, runs: list[dict], files: dict[str, int], private: str) -> None:
        self.runs, self.files, self.private = runs, files, private
        self.targets: dict[int, object] = {}

    def _run_of(self, path) -> int:
        return self.files[os.path.basename(str(path))]

    def pytest_configure(self, config):
        import pytest

        self._pytest = pytest

        class Fixtures:
            @pytest.fixture
            def target(_, request):  # noqa: N805
                return self.targets.get(self._run_of(request.node.path))

        config.pluginmanager.register(Fixtures(), "grader-fixtures")

    def pytest_collection_modifyitems(self, config, items):
        keep = []
        for item in items:
            run = self.runs[self._run_of(item.path)]
            marker = item.get_closest_marker("group")
            if run["group"] is None or (marker and marker.args[0] == run["group"]):
                keep.append(item)
        skip = set(JOB["skip"])
        emit(k="tests", names=[item.name for item in keep])
        items[:] = [item for item in keep if item.name not in skip]

    def pytest_collectreport(self, report):
        if report.failed:
            # Only the last line (the exception): the traceback above it quotes the suite's source.
            lines = [line for line in str(report.longrepr).splitlines() if line.strip()]
            emit(k="result", name="suite collection", passed=False, message=(lines or ["failed"])[-1][:300])

    def pytest_collection_finish(self, session):
        # The suite is in memory now: no file copy may exist while code under test runs.
        shutil.rmtree(self.private, ignore_errors=True)
        linecache.clearcache()
        for name in [m for m in sys.modules if m == "autograder" or m.startswith("autograder.")]:
            del sys.modules[name]
        _drop_privileges()
        sys.stdout = sys.stderr = CappedOutput(1, limits["output_bytes"])
        # Graded code runs in a module named __main__, as in a notebook, so a suite can find the
        # names defined next to the target (CircuitOpenError next to CircuitBreaker).
        main_module = types.ModuleType("__main__")
        main_module.__builtins__ = builtins
        sys.modules["__main__"] = main_module
        namespace = main_module.__dict__
        sys.addaudithook(_audit)
        # Graded code has no reason to fork, and a fork of this process is a second grader:
        # the copy ends at once (a fork bomb stops at the process limit, its zombies counted).
        os.register_at_fork(after_in_child=lambda: os._exit(0))
        _run_student_code(namespace)
        for i, run in enumerate(self.runs):
            try:
                self.targets[i] = eval(run["target"], {"types": types, "__builtins__": _CLEAN_BUILTINS}, namespace)
                _guard(self.targets[i])
            except BaseException as exc:  # noqa: BLE001
                emit(k="note", text=f"target {run['target']!r}: {_describe(exc)}")

    def pytest_runtest_protocol(self, item, nextitem):
        if self._run_of(item.path) not in self.targets:
            emit(k="result", name=item.name, passed=False, message="not run: the answer did not define the target")
            return True
        _arm(item.name)

    def pytest_runtest_logreport(self, report):
        # A failure in setup or teardown counts too; a pass counts only for the call phase.
        if report.when == "call" or report.failed:
            name = report.nodeid.rsplit("::", 1)[-1]
            emit(k="result", name=name, passed=report.passed, message="" if report.passed else _first_line(report))
        if report.when == "teardown":
            _disarm()


def _own_eq(value) -> bool:
    """A value of a class defined by graded code that decides == itself (an always-equal object
    would pass every ``assert result == expected``); the contracts return plain values."""
    kind = type(value)
    return (getattr(kind, "__module__", "") == "__main__" and not isinstance(value, BaseException)
            and any("__eq__" in vars(k) for k in kind.__mro__[:-1]))


def _checked(function):
    def call(*args, **kwargs):
        value = function(*args, **kwargs)
        if _own_eq(value):
            raise TypeError(f"{getattr(function, '__name__', 'a method')}() returned a {type(value).__name__} "
                            "with its own ==: return a plain value")
        return value
    return call


def _guard(target) -> None:
    """Check what the methods and properties of graded classes return (see ``_own_eq``)."""
    classes = [target] if isinstance(target, type) else \
        [v for v in vars(target).values() if isinstance(v, type)] if hasattr(target, "__dict__") else []
    for cls in classes:
        if cls.__module__ != "__main__":
            continue
        for name, attr in list(vars(cls).items()):
            if isinstance(attr, property) and attr.fget is not None:
                setattr(cls, name, property(_checked(attr.fget), attr.fset, attr.fdel, attr.__doc__))
            elif isinstance(attr, types.FunctionType) and not (name.startswith("__") and name != "__call__"):
                setattr(cls, name, _checked(attr))


def _first_line(report) -> str:
    try:
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(report.longrepr)
    except BaseException:  # noqa: BLE001
        return "failed"
    return text.strip().splitlines()[0][:300] if text.strip() else "failed"


def main() -> None:
    private = tempfile.mkdtemp(prefix="suite-")  # 0700, owned by the grader before it drops privileges
    _install_support()
    files: dict[str, int] = {}
    for i, run in enumerate(JOB["runs"]):
        name = f"test_{i}_{run['suite']}.py"
        with open(os.path.join(private, name), "w", encoding="utf-8") as f:
            f.write(JOB["suites"][run["suite"]])
        files[name] = i
    ini = os.path.join(private, "pytest.ini")
    with open(ini, "w", encoding="utf-8") as f:
        f.write("[pytest]\nmarkers =\n    group(name): a graded cell\n")
    sys.stdout = open(os.devnull, "w")  # pytest's own terminal output goes nowhere
    import pytest

    args = [os.path.join(private, n) for n in files] + [
        "-c", ini, "--rootdir", private, "-q", "-s", "--color=no", "--assert=plain",
        "-p", "no:cacheprovider", "-p", "no:timeout", "-p", "no:randomly", "--import-mode=importlib",
    ]
    try:
        pytest.main(args, plugins=[Plugin(JOB["runs"], files, private)])
    except BaseException as exc:  # noqa: BLE001
        emit(k="note", text=f"grader: {_describe(exc)}")
    _disarm()
    emit(k="done")
    os._exit(0)  # no atexit handler or finalizer registered by code under test runs


main()
