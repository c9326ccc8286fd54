"""What every benchmark prints: aligned tables and the versions of what was measured."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess

__all__ = ["table", "version", "redis_server_version"]


def table(head: tuple[str, ...], body: list[tuple[str, ...]], numeric: frozenset[int] = frozenset({1, 3, 4})) -> str:
    """Columns aligned, numbers right-aligned; a one-cell row is a section title."""
    widths = [max(len(r[i]) for r in [head, *body] if len(r) > 1 and i < len(r)) for i in range(len(head))]

    def fmt(r: tuple[str, ...]) -> str:
        if len(r) == 1:
            return r[0]
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))]
        return "  ".join(cells).rstrip()

    rule = "-" * len(fmt(head))
    return "\n".join([fmt(head), rule, *(fmt(r) for r in body)])


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def redis_server_version() -> str:
    exe = shutil.which("redis-server")
    if exe is None:
        return "not installed"
    words = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split()
    return next((w[2:] for w in words if w.startswith("v=")), "?")
