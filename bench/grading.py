"""``python -m bench grading``: one `nbgrader autograde` of 10 submissions to exercise 08, with the
sandboxed grader (GradeCells) and with the kernel grader it replaced (nbgrader's Execute), the two
sides alternating repeat by repeat; reports the wall time of each and their paired ratio."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder import demo
from autograder.release import ROOT, SCRATCH_RELEASE, nbgrader

from ._harness import Settings
from ._report import progress

ASSIGNMENT = "08_rate_limiting"
SUBMISSIONS = 10
#: The kernel grader, as nbgrader_config.py configured it before GradeCells.
KERNEL_CONFIG = f'''
__file__ = {str(ROOT / "nbgrader_config.py")!r}
exec(compile(open(__file__).read(), __file__, "exec"))
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
'''


def _course(root: Path) -> None:
    (root / "solutions").mkdir(parents=True)
    os.symlink(ROOT / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    name = f"{ASSIGNMENT}.ipynb"
    release, source = root / SCRATCH_RELEASE / ASSIGNMENT / name, root / "solutions" / ASSIGNMENT / name
    for i in range(SUBMISSIONS):  # half correct, half with the demo's bug
        nb = demo._submission(release, source, demo.BUGS[ASSIGNMENT] if i % 2 else {})
        folder = root / "grading" / "submitted" / f"student{i:02d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / name)


def _autograde(root: Path, config_dir: Path | None) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force",
           f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url=sqlite:///{root / 'grading' / 'gradebook.db'}",
           f"--Exchange.root={root / 'grading' / 'exchange'}"]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=config_dir or ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"autograde failed:\n{done.stderr[-2000:]}")
    return elapsed


def run(settings: Settings) -> int:
    repeats = settings.repeats if not settings.quick else 1
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        root, kernel = Path(tmp) / "course", Path(tmp) / "kernel-config"
        kernel.mkdir()
        (kernel / "nbgrader_config.py").write_text(KERNEL_CONFIG)
        _course(root)
        new, old = [], []
        for repeat in range(repeats):
            sides = [("sandboxed", None, new), ("kernel", kernel, old)]
            for label, config, times in sides if repeat % 2 == 0 else sides[::-1]:
                progress(f"repeat {repeat + 1}/{repeats}: {label} grader, {SUBMISSIONS} submissions")
                times.append(_autograde(root, config))
    ratios = [n / o for n, o in zip(new, old, strict=True)]
    print(f"grading {SUBMISSIONS} submissions to {ASSIGNMENT}, {repeats} paired repeat(s), {os.cpu_count()} cores")
    print(f"  sandboxed grader (GradeCells): median {statistics.median(new):7.1f} s  {[round(t, 1) for t in new]}")
    print(f"  kernel grader (Execute):       median {statistics.median(old):7.1f} s  {[round(t, 1) for t in old]}")
    print(f"  wall-time ratio sandboxed / kernel: median {statistics.median(ratios):.2f} (per repeat: "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    return 0
