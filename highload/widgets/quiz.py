"""Auto-checked multiple-choice quizzes for the end of each lesson.

Pick an option and the feedback says right or wrong and always explains the right
answer, because the explanation is where the learning happens::

    from highload.widgets import Quiz, Question
    Quiz([
        Question("Which limiter allows a burst?", ["token bucket", "fixed window"], answer=0,
                 explain="A full bucket admits up to capacity at once, then refill_rate per second."),
    ])
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

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
