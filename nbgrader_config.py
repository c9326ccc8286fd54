"""nbgrader configuration for the course. Run nbgrader from this folder (the repo root).

solutions/ holds the source notebooks, exercises/ the generated release (committed);
everything nbgrader writes while grading goes under the gitignored grading/ folder.
"""

import os
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

ROOT = Path(__file__).resolve().parent

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "highload"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'grading' / 'gradebook.db'}"
c.Exchange.root = str(ROOT / "grading" / "exchange")

# Hidden cells import the suites from autograder/, which lives here, outside every assignment.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

# Tracebacks show the error, never the cell's source: a failing visible assert must not
# print the hidden-test lines of its cell.
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]

# Each hidden test has its own time limit; this bounds a whole cell.
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True

# Feedback must never show hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
