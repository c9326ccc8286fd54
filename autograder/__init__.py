"""Hidden-test runner: the same pytest suites prove the reference package and grade students.

In a graded notebook cell::

    import autograder
    autograder.run("token_bucket", TokenBucket, group="refill")

From the shell (exit 0 only if every hidden test passes)::

    python -m autograder check token_bucket --target highload.ratelimit:TokenBucket
"""

from ._runner import GRADING_ENV, Outcome, Report, check, load_target, run, suites

__all__ = ["run", "check", "load_target", "suites", "Report", "Outcome", "GRADING_ENV"]
