"""``python -m bench compare SUITE --base REV``: the same suite on two commits, sides interleaved.

A change must not make a ratio worse. Two runs taken minutes apart can't tell: the machine
drifts 2-5x in that time. So both commits run in one session, alternating repeat by repeat
(base, head, head, base, ...), each side in its own process on its own checkout (the base in
a temporary ``git worktree``). Every suite already reports each case as a ratio against a
floor or a peer measured beside it, so a per-repeat ratio is comparable across the two
processes. The report is, per case, the median ratio of each side and their quotient
(head / base; above 1 is better), flagged when it is worse by more than the tolerance.
Rows that are absolute costs (microseconds, not a ratio) are shown for context only: they
were measured in different processes at different moments, so nothing pairs them.

Each side runs its own ``python -m bench SUITE --repeats 1`` and this module reads the rows
of the table it prints, so a base commit whose bench predates this module still works.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ._report import table

__all__ = ["main", "parse_rows", "Measure"]

ROOT = Path(__file__).resolve().parent.parent
_COLUMNS = re.compile(r"\s{2,}")
_RATIO = re.compile(r"^(\d+(?:\.\d+)?)x$")
_NUMBER = re.compile(r"^[\d,]+(?:\.\d+)?$")


class Measure:
    """One row's figure from one run: a ratio (higher is better) or a cost in us (lower is)."""

    __slots__ = ("value", "higher_is_better")

    def __init__(self, value: float, higher_is_better: bool) -> None:
        self.value = value
        self.higher_is_better = higher_is_better


def parse_rows(text: str) -> dict[str, Measure]:
    """The rows of every ratio table in a bench report, keyed ``[section] case | reference``.

    Rows are ``case, figure, reference, ref figure, ratio, range, target, status`` (the shape
    of ``ratio_table`` and of the resilience report). A row whose ratio is ``-`` is an
    absolute cost (the resilience overhead rows): its figure is taken, lower being better.
    """
    rows: dict[str, Measure] = {}
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped
            continue
        cells = _COLUMNS.split(stripped)
        if len(cells) < 7 or section == "":
            continue
        case, figure, reference, _, ratio = cells[:5]
        key = f"{section[:40]} {case} | {reference}"
        match = _RATIO.match(ratio)
        if match:
            rows[key] = Measure(float(match.group(1)), higher_is_better=True)
        elif ratio == "-" and _NUMBER.match(figure):
            rows[key] = Measure(float(figure.replace(",", "")), higher_is_better=False)
    return rows


def _order(repeats: int) -> Iterator[str]:
    for i in range(repeats):
        yield from (("base", "head") if i % 2 == 0 else ("head", "base"))


def _run(root: Path, suite: str, quick: bool) -> str:
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [sys.executable, "-m", "bench", suite, "--repeats", "1", *(["--quick"] if quick else [])]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench {suite} failed in {root} (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def compare(suite: str, base: str, repeats: int, quick: bool, tolerance: float) -> int:
    runs: dict[str, list[dict[str, Measure]]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        checkout = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet",
                        str(checkout), base], check=True)
        try:
            for n, side in enumerate(_order(repeats), start=1):
                print(f"  .. {suite}: run {n}/{2 * repeats} on {side}", file=sys.stderr, flush=True)
                runs[side].append(parse_rows(_run(checkout if side == "base" else ROOT, suite, quick)))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(checkout)],
                           check=False)
    body, worse = [], 0
    for key in runs["head"][0]:
        base_values = [r[key].value for r in runs["base"] if key in r]
        head_values = [r[key].value for r in runs["head"] if key in r]
        if not base_values:
            body.append((key, "-", f"{statistics.median(head_values):.3f}", "-", "new"))
            continue
        b, h = statistics.median(base_values), statistics.median(head_values)
        paired = runs["head"][0][key].higher_is_better  # a ratio; a cost row is absolute
        change = (h / b if paired else b / h) if b and h else float("nan")
        status = ("WORSE" if change < 1 - tolerance else "ok") if paired else "info (unpaired)"
        worse += status == "WORSE"
        body.append((key, f"{b:.3f}", f"{h:.3f}", f"{change:.3f}", status))
    print(f"bench {suite}: base {base} vs head (working tree), {repeats} interleaved repeat(s) each; "
          f"change = head/base for ratios (WORSE below {1 - tolerance:.2f}); base/head for absolute "
          "us costs, which no reference pairs across runs (info only)")
    print(table(("row", "base", "head", "change", "status"), body, numeric=frozenset({1, 2, 3})))
    print(f"{worse} row(s) worse by more than {tolerance:.0%}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench compare",
                                     description="One bench suite on two commits, interleaved.")
    parser.add_argument("suite")
    parser.add_argument("--base", required=True, help="the commit to compare against (e.g. HEAD~3)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smoke run; numbers not meaningful")
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    return compare(args.suite, args.base, args.repeats, args.quick, args.tolerance)
