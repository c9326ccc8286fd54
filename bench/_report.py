"""What every benchmark prints: aligned tables and the versions of what was measured."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from dataclasses import dataclass

from ._harness import Paired

__all__ = ["table", "version", "redis_server_version", "progress", "RatioRow", "ratio_table"]


def progress(message: str) -> None:
    """A progress line on stderr, so the tables on stdout stay clean."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


@dataclass
class RatioRow:
    """One table line: a case's rate against a reference's, per repeat (``paired``), and the
    minimum median ratio it must reach (``target``; None for a reported-only row)."""

    section: str
    case: str
    reference: str
    paired: Paired | None = None
    target: float | None = None
    skipped: str = ""

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIP"
        if self.target is None:
            return "info"
        return "PASS" if self.paired.ratio >= self.target else "MISS"


def ratio_table(rows: list[RatioRow], unit: str) -> str:
    """Rows grouped under their sections: both medians, the median ratio, its range, the target."""
    head = ("case", unit, "reference", f"ref {unit}", "ratio", "range", "target", "status")
    body, section = [], None
    for row in rows:
        if row.section != section:
            section = row.section
            body.append((f"[{section}]",))
        if row.skipped:
            body.append((row.case, "-", row.reference, "-", "-", "-", "-", f"SKIP: {row.skipped}"))
            continue
        p = row.paired
        body.append((row.case, f"{p.case:,.0f}", row.reference, f"{p.ref:,.0f}", f"{p.ratio:.2f}x",
                     f"{min(p.ratios):.2f}-{max(p.ratios):.2f}x",
                     "-" if row.target is None else f">= {row.target:g}x", row.status))
    return table(head, body, numeric=frozenset({1, 3, 4, 5}))


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
