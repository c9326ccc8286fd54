"""``make release``: regenerate the committed release notebooks (exercises/) from solutions/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where nbgrader commands generate a release (nbgrader_config.py); exercises/ is written only by generate().
SCRATCH_RELEASE = "grading/release"


def assignments(root: Path = ROOT) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and not p.name.startswith("."))


def nbgrader(course: Path, *args: str) -> None:
    """Run an nbgrader command on the course rooted at ``course`` (the repo's config, relocated)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [
        sys.executable, "-m", "nbgrader", *args,
        f"--CourseDirectory.root={course}",
        f"--CourseDirectory.db_url=sqlite:///{course / 'grading' / 'gradebook.db'}",
        f"--Exchange.root={course / 'grading' / 'exchange'}",
    ]
    (course / "grading" / "exchange").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {args[0]} failed:\n{done.stdout}\n{done.stderr}")


def generate(course: Path = ROOT) -> None:
    """Write ``course/exercises/<assignment>/`` from ``course/solutions/<assignment>/``."""
    for assignment in assignments(course):
        nbgrader(course, "generate_assignment", assignment, "--force", "--CourseDirectory.release_directory=exercises")


def main() -> int:
    generate()
    print("regenerated:", ", ".join(f"exercises/{a}" for a in assignments()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
