"""Hidden-test runner: the same pytest suites prove the reference package and grade students.

In a graded notebook cell, between the hidden-test markers::

    import autograder
    autograder.run("token_bucket", TokenBucket, group="refill")

``nbgrader autograde`` never executes that call: ``autograder.grading.GradeCells`` parses it and
runs the group in a sandboxed interpreter of its own (see ``grading.py``). Executed in a kernel
(the lab, ``nbgrader validate``), it runs the group in place and prints the report.

From the shell (exit 0 only if every hidden test passes)::

    python -m autograder check token_bucket --target highload.ratelimit:TokenBucket
"""

from ._runner import GRADING_ENV, Outcome, Report, check, load_target, run, suites

__all__ = ["run", "check", "load_target", "suites", "Report", "Outcome", "GRADING_ENV"]
