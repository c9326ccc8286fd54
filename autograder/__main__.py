"""``python -m autograder check SUITE --target module:Name`` or ``--target module`` (exit 0 iff every hidden test passes)."""

from __future__ import annotations

import argparse
import sys

from ._runner import check, load_target, suites


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("check", help="run a hidden suite against a target class")
    run.add_argument("suite", choices=suites())
    run.add_argument("--target", required=True, help="module:Name (e.g. highload.ratelimit:TokenBucket) or a module (e.g. highload.balancing)")
    run.add_argument("--group", default=None, help="only this group of tests (one graded cell)")
    sub.add_parser("list", help="list the suites")
    args = parser.parse_args(argv)
    if args.command == "list":
        print("\n".join(suites()))
        return 0
    try:
        target = load_target(args.target)
    except (ValueError, ImportError, AttributeError) as exc:
        print(f"cannot load target {args.target!r}: {exc}", file=sys.stderr)
        return 2
    report = check(args.suite, target, args.group)
    print(report.summary())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
