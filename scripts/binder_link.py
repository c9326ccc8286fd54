"""Rewrites the Binder link in README.md and course/index.ipynb from pyproject.toml's one setting.

``python scripts/binder_link.py`` rewrites; ``--check`` exits 1 if a file disagrees.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("README.md", "course/index.ipynb")
LINK = re.compile(r"https://mybinder\.org/v2/gh/[^/\s)`\"]+/[^/\s)`\"]+/HEAD\?urlpath=lab/tree/course/index\.ipynb")


def link() -> str:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["highload"]
    return f"https://mybinder.org/v2/gh/{settings['binder-repository']}/HEAD?urlpath=lab/tree/course/index.ipynb"


def main(argv: list[str]) -> int:
    wanted, stale = link(), []
    for name in FILES:
        path = ROOT / name
        text = path.read_text()
        found = LINK.findall(text)
        if not found:
            raise SystemExit(f"{name} has no Binder link")
        if any(url != wanted for url in found):
            stale.append(name)
            if "--check" not in argv:
                path.write_text(LINK.sub(wanted, text))
    if stale and "--check" in argv:
        print(f"Binder link differs from pyproject.toml's in: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
