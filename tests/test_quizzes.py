"""The lessons' quizzes: each question bank loads and is valid, and no quiz cell shows its answers.

The answer key lives in ``course/quizzes/<lesson>.json``; the visible cell only loads it. The
path is relative to the notebook's folder, the kernel's working directory in the learner's lab
(a copy of ``course/`` made by scripts/workspace.py), in tests/test_notebooks.py and on Binder.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from highload.widgets import Quiz  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
BANKS = sorted((COURSE / "quizzes").glob("*.json"))
LESSONS = sorted(p for p in COURSE.glob("*.ipynb") if p.name != "index.ipynb")
# What an answer key looks like in code: an answer index, an explanation, or a question built in place.
ANSWER_KEY = re.compile(r"answer\s*=|explain\s*=|explanation|Question\s*\(")


def _code_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _quiz_cells(path: Path) -> list[str]:
    return [src for src in _code_cells(path) if re.search(r"\b(Quiz|Question)\b", src)]


def _bank_paths(source: str) -> list[str]:
    """The string literal passed to each ``Quiz.from_file(...)`` call in ``source``."""
    return [node.args[0].value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "from_file" and node.args and isinstance(node.args[0], ast.Constant)]


def test_there_are_question_banks():
    assert BANKS and LESSONS


@pytest.mark.parametrize("path", BANKS, ids=lambda p: p.name)
def test_question_bank_loads_with_valid_answers(path, monkeypatch):
    monkeypatch.chdir(COURSE)  # where the lesson's kernel runs
    quiz = Quiz.from_file(f"quizzes/{path.name}")
    assert quiz.title.strip() and quiz.title != "Check yourself", "name the lesson in the quiz's title"
    for number, q in enumerate(quiz.questions, start=1):
        assert 0 <= q.answer < len(q.options), f"question {number}: answer out of range"
        assert q.explain.strip(), f"question {number}: no explanation"
        assert len(set(q.options)) == len(q.options), f"question {number}: duplicate options"
    prompts = [q.prompt for q in quiz.questions]
    assert len(set(prompts)) == len(prompts), "a question appears twice"


@pytest.mark.parametrize("path", LESSONS + [COURSE / "index.ipynb"], ids=lambda p: p.name)
def test_no_quiz_cell_shows_an_answer_index_or_explanation(path):
    for source in _quiz_cells(path):
        found = ANSWER_KEY.findall(source)
        assert not found, f"{path.name}: a quiz cell shows its answer key ({found}); move it to course/quizzes/"
    # Nor may another visible cell build the questions and hand them over.
    assert not any(re.search(r"Question\s*\(", src) for src in _code_cells(path)), f"{path.name} builds a Question"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_lesson_loads_its_own_bank(path):
    cells = _quiz_cells(path)
    assert len(cells) == 1, f"{path.name}: expected one quiz cell, found {len(cells)}"
    assert _bank_paths(cells[0]) == [f"quizzes/{path.stem}.json"]
    assert len(cells[0].strip().splitlines()) <= 2, "the quiz cell is an import and a load, nothing else"
    assert (COURSE / "quizzes" / f"{path.stem}.json").is_file()


def test_every_bank_belongs_to_a_lesson():
    assert {p.stem for p in BANKS} == {p.stem for p in LESSONS if _quiz_cells(p)}


def test_banks_load_from_the_learners_working_copy(tmp_path, monkeypatch):
    """`make lab` opens a copy of course/ made by scripts/workspace.py: the banks go with it."""
    spec = importlib.util.spec_from_file_location("workspace", ROOT / "scripts" / "workspace.py")
    workspace = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(workspace)
    workspace.sync(tmp_path / "workspace")
    monkeypatch.chdir(tmp_path / "workspace" / "course")
    for lesson in LESSONS:
        for bank in _bank_paths(_quiz_cells(lesson)[0]):
            assert Quiz.from_file(bank).questions
