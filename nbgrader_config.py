"""nbgrader configuration for the course. Run nbgrader from this folder (the repo root).

solutions/ holds the source notebooks, exercises/ the generated release (committed, written
only by `make release`); everything nbgrader writes goes under the gitignored grading/ folder.
"""

import os
import sys
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, GetGrades, IgnorePattern, LimitOutput, SaveAutoGrades,
)

ROOT = Path(__file__).resolve().parent

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "highload"
c.CourseDirectory.source_directory = "solutions"
# nbgrader commands generate into a scratch folder: `generate_assignment --force` deletes its
# target first, and exercises/ is committed. `make release` alone writes exercises/.
c.CourseDirectory.release_directory = "grading/release"
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'grading' / 'gradebook.db'}"
c.Exchange.root = str(ROOT / "grading" / "exchange")

# The gradebook's folder must exist before nbgrader opens it (a fresh clone has no grading/).
(ROOT / "grading").mkdir(exist_ok=True)

# Hidden suites live in autograder/, here, outside every assignment. This process imports
# autograder.grading even when nbgrader runs from another folder (a config that execs this one),
# and the processes it starts find autograder through PYTHONPATH.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
from autograder.grading import GradeCells  # noqa: E402

# No kernel in the scoring path: GradeCells replaces Execute. Each graded cell runs in its own
# sandboxed interpreter (bubblewrap, rlimits, a highload without the reference answers), and
# the score it writes is partial credit: the fraction of the cell's tests passed.
c.Autograde.autograde_preprocessors = [
    GradeCells, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,
    CheckCellMetadata,
]

# Anything that still executes notebooks (nbgrader validate) keeps tracebacks short and stores
# no widget state (megabytes per notebook otherwise).
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True
c.Execute.store_widget_state = False

# `nbgrader export` writes here, not into the repository root.
c.CsvExportPlugin.to = str(ROOT / "grading" / "grades.csv")

# Feedback must never show hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
