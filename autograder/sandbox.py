"""Where a graded cell's interpreter runs: bubblewrap when the machine allows it, else a plain
process. Both get the stripped ``highload``, an explicit ``sys.path`` and the same rlimits."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELL = Path(__file__).resolve().parent / "_cell.py"
#: The parts of highload an exercise may import while graded; the reference answers stay out.
ALLOWED_HIGHLOAD = ("clock.py", "_validate.py", "replication/base.py", "replication/simulation.py")
#: What a copied subpackage exports while graded: its own __init__ would import the references.
SUBPACKAGE_EXPORTS = {"replication": "from .simulation import SimulatedReplicaSet\n"}
#: ``HIGHLOAD_GRADER_SANDBOX=process`` forces the fallback (tests use it to cover both modes).
MODE_ENV = "HIGHLOAD_GRADER_SANDBOX"
BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"
TMPFS_BYTES = 32 * 2**20
#: What the fallback loses, printed whenever it is used.
LOST_WITHOUT_BWRAP = (
    "network is reachable",
    "the repository, the hidden suites' files and the gradebook are readable by graded code "
    "(writes are still refused: it runs as a uid that owns nothing)" if os.getuid() == 0 else
    "the repository, the hidden suites' files and the gradebook are readable and writable by graded code",
    "/tmp is shared and unbounded (only the per-file size limit applies)",
)


def stripped_highload() -> Path:
    """A folder holding a ``highload`` package with only ``ALLOWED_HIGHLOAD``, copied from this checkout."""
    return _stripped(str(ROOT / "highload"))


@functools.cache
def _stripped(source: str) -> Path:
    lib = Path(tempfile.mkdtemp(prefix="highload-graded-"))
    package = lib / "highload"
    package.mkdir()
    (package / "__init__.py").write_text('"""highload, as graded code sees it: only what exercises may use."""\n')
    for name, exports in SUBPACKAGE_EXPORTS.items():
        (package / name).mkdir()
        (package / name / "__init__.py").write_text(exports)
    for name in ALLOWED_HIGHLOAD:
        shutil.copy2(Path(source) / name, package / name)
    for path in (lib, *lib.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return lib


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    cwd: str
    mode: str  # "bwrap" or "process"


def _python_paths() -> tuple[Path, Path, str]:
    """(base prefix, site-packages, interpreter name) of the running interpreter."""
    base = Path(sys.base_prefix)
    site = Path(sysconfig.get_paths()["purelib"])
    return base, site, f"python{sys.version_info.major}.{sys.version_info.minor}"


def _bwrap_argv(lib: Path, code: str | None = None) -> list[str]:
    base, site, python = _python_paths()
    argv = [BWRAP, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONHASHSEED", "0"]
    if os.getuid() == 0:  # only to drop to the cell's own uid once the suite is collected
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("lib", "lib64", "bin", "sbin"):
        path = Path("/") / link
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    # The interpreter at its own path: its rpath finds its libpython there (at another path the
    # loader would pick up whichever libpython /usr has). bwrap creates missing parents 0700.
    for parent in reversed(base.parents[:-1]):
        if not str(parent).startswith("/usr"):
            argv += ["--perms", "0755", "--dir", str(parent)]
    argv += ["--ro-bind", str(base), str(base), "--ro-bind", str(site), "/site", "--ro-bind", str(lib), "/graded",
             "--ro-bind", str(CELL), "/grader/cell.py", "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
             "--size", str(TMPFS_BYTES), "--perms", "1777", "--tmpfs", "/tmp", "--chdir", "/tmp",
             str(base / "bin" / python), "-I", "-S", "-c",
             _bootstrap(["/graded", *_stdlib(str(base)), "/site"], "/grader/cell.py", code)]
    return argv


def _stdlib(prefix: str) -> list[str]:
    base = Path(sys.base_prefix)
    return [str(Path(prefix) / Path(p).relative_to(base)) for p in sys.path
            if p and Path(p).is_relative_to(base) and "site-packages" not in p]


def _bootstrap(path: list[str], script: str, code: str | None = None) -> str:
    # -I -S: no environment, no user site, no .pth files (an editable install would map the
    # full highload back in); the grader chooses every entry of sys.path.
    if code is not None:
        return f"import sys; sys.path[:] = {path!r}; {code}"
    return f"import sys; sys.path[:] = {path!r}; sys.argv = [{script!r}]; exec(compile(open({script!r}).read(), {script!r}, 'exec'))"


def _process_argv(lib: Path) -> list[str]:
    base, site, python = _python_paths()
    return [sys.executable, "-I", "-S", "-c", _bootstrap([str(lib), *_stdlib(str(base)), str(site)], str(CELL))]


@functools.cache
def bwrap_works() -> bool:
    """Probe once: a container's seccomp policy may forbid the namespaces bubblewrap needs."""
    if not Path(BWRAP).exists():
        return False
    # The same interpreter build must run inside (not a system libpython of another patch level).
    argv = _bwrap_argv(stripped_highload(), "import pytest, highload.clock, os; os.setuid(os.getuid()); "
                       f"sys.exit(sys.version_info[:3] != {tuple(sys.version_info[:3])!r})")
    try:
        return subprocess.run(argv, capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def mode() -> str:
    wanted = os.environ.get(MODE_ENV, "auto")
    if wanted == "process" or (wanted == "auto" and not bwrap_works()):
        return "process"
    return "bwrap"


def launch(workdir: str) -> Launch:
    lib = stripped_highload()
    if mode() == "bwrap":
        return Launch(_bwrap_argv(lib), workdir, "bwrap")
    return Launch(_process_argv(lib), workdir, "process")
