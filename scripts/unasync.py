#!/usr/bin/env python3
"""Generate the sync flavour of ``highload.cache`` from its asyncio source (httpcore's unasync, small).

    python scripts/unasync.py          # rewrite highload/cache/_sync/ from highload/cache/_async/
    python scripts/unasync.py --check  # change nothing; exit 1 naming each file that differs

The asyncio code is the one source of truth; each generated file starts with a line naming
its source and this command, and ``tests/test_generated.py`` fails when a generated file
differs from what this script makes of its source (it was edited by hand, or not regenerated).

The rules are plain token replacements, applied in order. Names that differ between the
flavours come in pairs spelled ``AsyncX`` / ``X`` (see ``highload/cache/_flavour.py``), so
the one rule ``AsyncX`` → ``X`` covers classes, locks, stores and protocols alike.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("highload/cache/_async")
TARGET = Path("highload/cache/_sync")
COMMAND = "python scripts/unasync.py"

RULES: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\ban Async(?=[A-Z])", "a "),  # "an AsyncRedisBackend" -> "a RedisBackend"
    (r"\bAsync(?=[A-Z])", ""),  # AsyncCacheAside -> CacheAside, AsyncLock -> Lock, ...
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\bacall\b", "call"),
    (r"\basynchronous=True\b", "asynchronous=False"),
    (r"\bAwaitable\[(\w+)\]", r"\1"),  # a property whose value is awaited on asyncio
    (r"\bimport Awaitable, ", "import "),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in RULES]


def header(source: Path) -> str:
    return f"# Generated from {source.as_posix()} by `{COMMAND}`: edit that file and regenerate, not this one.\n"


def unasync(text: str) -> str:
    """The sync flavour of one asyncio source text."""
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    return text


def expected(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file (relative to ``root``) and the text it must have."""
    return {
        TARGET / path.name: header(SOURCE / path.name) + unasync(path.read_text(encoding="utf-8"))
        for path in sorted((root / SOURCE).glob("*.py"))
    }


def differences(root: Path = ROOT) -> list[str]:
    """What is out of date in the generated tree: a differing, missing or orphaned file each."""
    want = expected(root)
    problems = []
    for path, text in want.items():
        actual = root / path
        if not actual.exists():
            problems.append(f"{path}: missing")
        elif actual.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from what {SOURCE / path.name} generates")
    for actual in sorted((root / TARGET).glob("*.py")):
        if actual.relative_to(root) not in want:
            problems.append(f"{actual.relative_to(root)}: generated from no source in {SOURCE}")
    return problems


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    if argv == ["--check"]:
        problems = differences()
        for problem in problems:
            print(problem)
        if problems:
            print(f"run `{COMMAND}` (and edit {SOURCE}, never {TARGET})")
        return 1 if problems else 0
    (ROOT / TARGET).mkdir(exist_ok=True)
    want = expected()
    for stale in (ROOT / TARGET).glob("*.py"):
        if stale.relative_to(ROOT) not in want:
            stale.unlink()
    for path, text in want.items():
        if not (ROOT / path).exists() or (ROOT / path).read_text(encoding="utf-8") != text:
            (ROOT / path).write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
