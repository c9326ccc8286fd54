"""``python -m bench SUITE [--repeats N] [--quick]``, or ``python -m bench compare SUITE --base REV``."""

from __future__ import annotations

import argparse
import importlib
import sys

from ._harness import Settings, sigterm_as_interrupt

SUITES = ("ratelimit", "resilience", "scaling", "cache", "grading", "replication", "sharding")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["compare"]:
        from .compare import main as compare

        return compare(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Paired, interleaved benchmarks of highload against floors and peers. "
        "They print ratios; they never fail on a number.",
    )
    parser.add_argument("suite", choices=SUITES, help="which benchmark to run")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats; the report is the median of per-repeat ratios "
                        "(default 5, or 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run in a few seconds: short chunks, numbers not meaningful")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.quick:
        settings = Settings.smoke(args.repeats or 1)
    else:
        settings = Settings.full(args.repeats or 5)

    suite = importlib.import_module(f".{args.suite}", __package__)

    try:
        with sigterm_as_interrupt():
            return suite.run(settings)
    except KeyboardInterrupt:
        print("\ninterrupted; private servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
