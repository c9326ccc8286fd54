"""Auto-checked multiple-choice quizzes for the end of each lesson.

Pick an option and the feedback says right or wrong and always explains the right
answer, because the explanation is where the learning happens.

A lesson keeps its question bank in a JSON file next to the notebook, so the answer key
is not on screen above the radio buttons::

    Quiz.from_file("quizzes/08_rate_limiting.json")

    {"title": "Rate limiting: check yourself",
     "questions": [{"prompt": "Which limiter allows a burst?",
                    "options": ["token bucket", "fixed window"],
                    "answer": 0,
                    "explain": "A full bucket admits up to capacity at once."}]}

JSON, because the standard library reads it and the file holds nothing but data. A relative
path resolves against the working directory: the notebook's own folder in JupyterLab, on
Binder and under nbclient. Engineers can still build questions in code::

    Quiz([Question("Which limiter allows a burst?", ["token bucket", "fixed window"], answer=0,
                   explain="A full bucket admits up to capacity at once, then refill_rate per second.")])
"""

from __future__ import annotations

import html
import json
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets

from ._style import GREEN, RED

__all__ = ["Question", "Quiz"]


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``answer`` is the index of the right option in ``options``."""

    prompt: str
    options: Sequence[str]
    answer: int
    explain: str

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError(f"prompt must be a non-empty string, got {self.prompt!r}")
        # A tuple keeps the frozen question truly immutable, whatever sequence was passed.
        object.__setattr__(self, "options", tuple(self.options))
        if len(self.options) < 2:
            raise ValueError(f"options must hold at least 2 choices, got {len(self.options)}")
        if isinstance(self.answer, bool) or not isinstance(self.answer, numbers.Integral):
            raise TypeError(f"answer must be an int index into options, got {self.answer!r}")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(
                f"answer must be an index in 0..{len(self.options) - 1}, got {self.answer!r}"
            )

    def feedback(self, choice: int) -> str:
        """HTML feedback for picking option ``choice``: the verdict, then the explanation."""
        right = html.escape(self.options[self.answer])
        verdict = (
            f"<b style='color:{GREEN}'>✔ Correct.</b>" if choice == self.answer
            else f"<b style='color:{RED}'>✘ Not quite.</b> The answer is <i>{right}</i>."
        )
        return f"{verdict} {html.escape(self.explain)}"


class Quiz:
    """A list of questions, each with radio buttons, live feedback and a running score.

    Nothing is selected at first and nothing waits for input, so a notebook that shows a
    quiz still runs top to bottom headless. :meth:`answer` picks an option from code.
    """

    def __init__(self, questions: Sequence[Question], title: str = "Check yourself") -> None:
        self.questions = tuple(questions)
        if not self.questions:
            raise ValueError("questions must hold at least one Question, got none")
        for q in self.questions:
            if not isinstance(q, Question):
                raise TypeError(f"questions must be Question instances, got {q!r}")
        self.title = title
        self.choices: list[widgets.RadioButtons] = []
        self.feedback: list[widgets.HTML] = []
        self.score = widgets.HTML()
        rows: list[widgets.Widget] = [widgets.HTML(f"<h3>{html.escape(title)}</h3>")]
        for number, q in enumerate(self.questions, start=1):
            radio = widgets.RadioButtons(
                options=[(text, i) for i, text in enumerate(q.options)], value=None,
                layout=widgets.Layout(width="auto"),
            )
            note = widgets.HTML()
            radio.observe(lambda change, k=number - 1: self._on_pick(k, change["new"]), names="value")
            self.choices.append(radio)
            self.feedback.append(note)
            rows += [widgets.HTML(f"<b>{number}. {html.escape(q.prompt)}</b>"), radio, note]
        rows.append(self.score)
        self.widget = widgets.VBox(rows)
        self._update_score()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], title: str | None = None) -> Quiz:
        """Build a quiz from a JSON question bank (format in the module docstring).

        ``title`` overrides the file's ``"title"``. Raises FileNotFoundError naming the path it
        tried and the working directory, and ValueError naming the file and the question number
        for anything malformed (bad JSON, a missing or unknown key, an answer out of range).
        """
        file_title, questions = _read_bank(Path(path))
        return cls(questions, title=title if title is not None else file_title or "Check yourself")

    def answer(self, question: int, option: int) -> bool:
        """Pick ``option`` for question ``question`` (both 0-based), as a click would; True if right."""
        if not 0 <= question < len(self.questions):
            raise ValueError(f"question must be in 0..{len(self.questions) - 1}, got {question!r}")
        options = self.questions[question].options
        if not 0 <= option < len(options):
            raise ValueError(f"option must be in 0..{len(options) - 1}, got {option!r}")
        self.choices[question].value = option
        return option == self.questions[question].answer

    @property
    def correct(self) -> int:
        """How many questions currently have the right option picked."""
        return sum(radio.value == q.answer for q, radio in zip(self.questions, self.choices, strict=True))

    @property
    def answered(self) -> int:
        """How many questions have any option picked."""
        return sum(radio.value is not None for radio in self.choices)

    def _on_pick(self, index: int, choice: int | None) -> None:
        self.feedback[index].value = "" if choice is None else self.questions[index].feedback(choice)
        self._update_score()

    def _update_score(self) -> None:
        self.score.value = (
            f"Score: <b>{self.correct}</b> of {len(self.questions)} "
            f"({self.answered} answered)"
        )

    def __repr__(self) -> str:
        lines = [self.title]
        for number, q in enumerate(self.questions, start=1):
            lines.append(f"{number}. {q.prompt}")
            lines += [f"   ({chr(97 + i)}) {text}" for i, text in enumerate(q.options)]
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        # Where widgets cannot render (a static export), the questions still read as text.
        bundle["text/plain"] = repr(self)
        return bundle


_QUESTION_KEYS = ("prompt", "options", "answer", "explain")
_BANK_KEYS = ("title", "questions")


def _read_bank(path: Path) -> tuple[str | None, list[Question]]:
    """The title and questions of a JSON question bank; every error names the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        # A notebook run from another folder is the usual cause: say where we looked.
        raise FileNotFoundError(
            f"no quiz file at {path.resolve()} (relative paths resolve against the working "
            f"directory, {Path.cwd()}; run the notebook from its own folder)"
        ) from None
    try:
        bank = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(bank, dict):
        raise ValueError(f"{path}: expected an object with {list(_BANK_KEYS)}, got {type(bank).__name__}")
    _check_keys(path, "the file", bank, required=("questions",), allowed=_BANK_KEYS)
    title = bank.get("title")
    if title is not None and not (isinstance(title, str) and title.strip()):
        raise ValueError(f"{path}: title must be a non-empty string, got {title!r}")
    items = bank["questions"]
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: questions must be a non-empty list, got {items!r}")
    return title, [_question(path, number, item) for number, item in enumerate(items, start=1)]


def _question(path: Path, number: int, item: object) -> Question:
    where = f"question {number}"
    if not isinstance(item, dict):
        raise ValueError(f"{path}: {where} must be an object with {list(_QUESTION_KEYS)}, got {item!r}")
    _check_keys(path, where, item, required=_QUESTION_KEYS, allowed=_QUESTION_KEYS)
    options = item["options"]
    if not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options):
        raise ValueError(f"{path}: {where}: options must be a list of non-empty strings, got {options!r}")
    # The feedback always explains; a bank without an explanation is a mistake, not a choice.
    explain = item["explain"]
    if not isinstance(explain, str) or not explain.strip():
        raise ValueError(f"{path}: {where}: explain must be a non-empty string, got {explain!r}")
    try:
        return Question(**item)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {where}: {exc}") from None


def _check_keys(path: Path, where: str, found: dict, required: Sequence[str], allowed: Sequence[str]) -> None:
    missing = [key for key in required if key not in found]
    unknown = sorted(set(found) - set(allowed))
    if missing or unknown:
        raise ValueError(
            f"{path}: {where}: "
            + "; ".join(filter(None, [missing and f"missing {missing}", unknown and f"unknown keys {unknown}"]))
            + f" (expected {list(allowed)})"
        )
