"""Moved to :mod:`highload.lab.flaky_upstream` (teaching code lives in ``highload.lab``).

This alias keeps the old import path, and ``python -m highload.resilience.flaky``, working
without a warning until the next release.
"""

from highload.lab.flaky_upstream import FlakyConfig, FlakyServer, flaky_app, main, run_flaky

__all__ = ["FlakyConfig", "FlakyServer", "flaky_app", "run_flaky", "main"]

if __name__ == "__main__":
    main()
