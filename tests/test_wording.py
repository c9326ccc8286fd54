"""Learner- and engineer-facing text never speaks of "the seed".

Readers cannot know what it refers to, and next to RNG seeds it misleads: the text teaches the
content and names a source for what it is. RNG ``seed=`` parameters and words like "seeded"
are fine; the pattern is exactly the one issue 14 gives.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = re.compile(r"\bthe seed\b|\bseed's\b|\bseeds\b", re.IGNORECASE)


def _checked_files() -> list[Path]:
    files = [*ROOT.glob("course/**/*.ipynb"), *ROOT.glob("exercises/**/*.ipynb"),
             *ROOT.glob("solutions/**/*.ipynb"), *ROOT.glob("course/quizzes/*.json"),
             *ROOT.glob("*.md"), *ROOT.glob("bench/**/*.md"), *ROOT.glob("bench/**/*.py"),
             *ROOT.glob("scripts/**/*.py"), *ROOT.glob("binder/**/*.md"),
             *ROOT.glob("highload/**/*.py"), *ROOT.glob("highload/**/*.lua"),
             *ROOT.glob("highload/**/*.md"), *ROOT.glob("tests/**/*.py")]
    return sorted(p for p in files if p.resolve() != Path(__file__).resolve()
                  and ".ipynb_checkpoints" not in p.parts)


def test_the_checked_set_covers_every_kind_of_text():
    names = {p.relative_to(ROOT).as_posix() for p in _checked_files()}
    for expected in ("README.md", "CHANGELOG.md", "bench/README.md", "course/09_circuit_breaker.ipynb",
                     "course/quizzes/09_circuit_breaker.json", "highload/nginx.py", "tests/test_nginx.py"):
        assert expected in names


def test_no_text_speaks_of_the_seed():
    found = []
    for path in _checked_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in FORBIDDEN.finditer(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r} in "
                             f"{line.strip()[:120]!r}")
    assert not found, ("say what the source is instead (e.g. 'an OpenResty breaker from a widely "
                       "copied nginx guide'):\n" + "\n".join(found))
