"""The course widgets: traffic shapes, replays through real limiters, the visualizer and the quiz.

No browser here: these drive the widget objects directly (tests/ browser tests check rendering).
"""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from highload.ratelimit import (  # noqa: E402
    FixedWindow,
    LeakyBucket,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
)
from highload.widgets import Question, Quiz, TokenBucketVisualizer  # noqa: E402
from highload.widgets.ratelimit import (  # noqa: E402
    compare_algorithms,
    decisions,
    traffic,
)

# The replays' own numbers are tested in tests/test_ratelimit_simulation.py, without plotly.


# -- the visualizer -----------------------------------------------------------------------------


def test_visualizer_redraws_when_a_slider_moves():
    viz = TokenBucketVisualizer(capacity=5, refill_rate=0.0, times=[0] * 8)
    assert "admitted <b>5</b> of 8" in viz.summary.value
    assert len(viz.figure.data[1].x) == 5  # admitted markers
    viz.controls["capacity"].value = 7
    assert len(viz.figure.data[1].x) == 7
    assert len(viz.figure.data[2].x) == 1  # rejected markers
    assert max(viz.figure.data[0].y) == 7
    assert "admitted <b>7</b> of 8" in viz.summary.value


def test_visualizer_pattern_and_custom_times_drive_the_replay():
    viz = TokenBucketVisualizer(pattern="steady", capacity=3, refill_rate=1)
    assert viz.trace.request_times == tuple(traffic("steady"))
    viz.controls["times"].value = "0, 0, 0, 0"
    assert viz.controls["pattern"].value == "custom"
    assert viz.trace.allowed == (True, True, True, False)


def test_visualizer_shows_bad_custom_times_instead_of_raising():
    viz = TokenBucketVisualizer(times=[0])
    viz.controls["times"].value = "0, soon"
    assert "soon" in viz.summary.value
    assert viz.trace is None and len(viz.figure.data[0].x) == 0


def test_visualizer_shows_a_learners_error_instead_of_raising():
    class Unfinished:
        def __init__(self, capacity, refill_rate, clock=None):
            pass

        def allow(self, cost=1):
            raise NotImplementedError("write allow() first")

        @property
        def tokens(self):
            return 0.0

    viz = TokenBucketVisualizer(Unfinished)
    assert "NotImplementedError" in viz.summary.value
    assert "write allow() first" in viz.summary.value
    viz.controls["capacity"].value = 20  # still alive
    assert "NotImplementedError" in viz.summary.value


def test_visualizer_drives_the_given_impl():
    calls = []

    class Counting(TokenBucket):
        def allow(self, cost=1):
            calls.append(cost)
            return super().allow(cost)

    viz = TokenBucketVisualizer(Counting, times=[0, 1, 2])
    assert len(calls) == 3
    assert "Counting" in viz.summary.value
    viz.controls["refill_rate"].value = 2.0
    assert len(calls) == 6


def test_visualizer_displays_as_a_widget_with_the_figure_inside():
    viz = TokenBucketVisualizer()
    bundle = viz._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert viz.chart in viz.widget.children


def test_visualizer_rejects_unknown_pattern():
    with pytest.raises(ValueError, match="pattern"):
        TokenBucketVisualizer(pattern="spiky")


# -- comparing algorithms -----------------------------------------------------------------------


LIMITERS = {
    "token bucket": lambda clock: TokenBucket(10, 1, clock=clock),
    "leaky bucket": lambda clock: LeakyBucket(10, 1, clock=clock),
    "fixed window": lambda clock: FixedWindow(10, 10, clock=clock),
    "sliding log": lambda clock: SlidingWindowLog(10, 10, clock=clock),
    "sliding counter": lambda clock: SlidingWindowCounter(10, 10, clock=clock),
}


def test_compare_algorithms_draws_one_row_of_traces_per_limiter():
    times = traffic("bursty", burst=15)
    fig = compare_algorithms(times, LIMITERS)
    rows = {}
    for trace in fig.data:
        rows.setdefault(trace.meta, []).append(trace)
    assert list(rows) == list(LIMITERS)
    for name, traces in rows.items():
        by_kind = {t.name: t for t in traces}
        assert set(by_kind) == {"offered", "admitted", "rejected"}
        ok = decisions(LIMITERS[name], times)
        assert len(by_kind["admitted"].x) == sum(ok)
        assert len(by_kind["rejected"].x) == len(ok) - sum(ok)
    assert len({t.yaxis for t in fig.data}) == len(LIMITERS)


def test_compare_algorithms_needs_a_limiter():
    with pytest.raises(ValueError, match="limiters"):
        compare_algorithms([0], {})


# -- quiz ---------------------------------------------------------------------------------------


def _quiz() -> Quiz:
    return Quiz([
        Question("Which allows a burst?", ["token bucket", "fixed delay"], answer=0,
                 explain="A full bucket admits up to capacity at once."),
        Question("Status for too many requests?", ["404", "429", "503"], answer=1,
                 explain="429 Too Many Requests, with Retry-After."),
    ])


def test_quiz_starts_unanswered():
    quiz = _quiz()
    assert all(radio.value is None for radio in quiz.choices)
    assert all(note.value == "" for note in quiz.feedback)
    assert (quiz.correct, quiz.answered) == (0, 0)


def test_quiz_marks_right_and_wrong_and_always_explains():
    quiz = _quiz()
    assert quiz.answer(0, 0) is True
    assert "Correct" in quiz.feedback[0].value
    assert "up to capacity at once" in quiz.feedback[0].value
    assert quiz.answer(1, 2) is False
    assert "Not quite" in quiz.feedback[1].value
    assert "429" in quiz.feedback[1].value and "Retry-After" in quiz.feedback[1].value
    assert (quiz.correct, quiz.answered) == (1, 2)
    assert "<b>1</b> of 2" in quiz.score.value
    quiz.answer(1, 1)  # changing an answer updates the score
    assert quiz.correct == 2


def test_quiz_displays_as_a_widget_with_readable_text_fallback():
    bundle = _quiz()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Which allows a burst?" in bundle["text/plain"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"answer": 2}, "answer"),
        ({"answer": -1}, "answer"),
        ({"options": ["only one"]}, "options"),
        ({"prompt": " "}, "prompt"),
    ],
)
def test_question_rejects_bad_arguments_naming_them(kwargs, name):
    args = {"prompt": "Q?", "options": ["a", "b"], "answer": 0, "explain": "because"} | kwargs
    with pytest.raises(ValueError, match=name):
        Question(**args)


def test_quiz_answer_rejects_out_of_range_indexes():
    quiz = _quiz()
    with pytest.raises(ValueError, match="question"):
        quiz.answer(5, 0)
    with pytest.raises(ValueError, match="option"):
        quiz.answer(0, 9)


# -- quiz from a question bank file -------------------------------------------------------------

BANK = {
    "title": "Limits: check yourself",
    "questions": [
        {"prompt": "Which allows a burst?", "options": ["token bucket", "fixed delay"], "answer": 0,
         "explain": "A full bucket admits up to capacity at once."},
        {"prompt": "Status for too many requests?", "options": ["404", "429", "503"], "answer": 1,
         "explain": "429 Too Many Requests, with Retry-After."},
    ],
}


def _bank_file(folder, bank=BANK, name="lesson.json"):
    import json

    path = folder / "quizzes" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bank if isinstance(bank, str) else json.dumps(bank), encoding="utf-8")
    return path


def test_quiz_from_file_resolves_a_relative_path_against_the_working_directory(tmp_path, monkeypatch):
    _bank_file(tmp_path)
    monkeypatch.chdir(tmp_path)  # a notebook's kernel runs in the notebook's folder
    quiz = Quiz.from_file("quizzes/lesson.json")
    assert quiz.title == "Limits: check yourself"
    assert [q.prompt for q in quiz.questions] == ["Which allows a burst?", "Status for too many requests?"]
    assert quiz.questions[1].options == ("404", "429", "503")
    assert quiz.answer(1, 1) is True
    assert "Retry-After" in quiz.feedback[1].value
    assert quiz.answer(0, 1) is False and "Not quite" in quiz.feedback[0].value


def test_quiz_from_file_title_defaults_and_overrides(tmp_path):
    untitled = _bank_file(tmp_path, {"questions": BANK["questions"]}, "untitled.json")
    assert Quiz.from_file(untitled).title == "Check yourself"
    assert Quiz.from_file(_bank_file(tmp_path), title="Mine").title == "Mine"


def test_quiz_from_file_missing_file_names_the_path_and_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no quiz file at .*quizzes.nope\.json.*working directory"):
        Quiz.from_file("quizzes/nope.json")


def _question(**changes):
    return {"questions": [BANK["questions"][0] | changes]}


@pytest.mark.parametrize(
    ("bank", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected an object"),
        ({"title": "t"}, r"missing \['questions'\]"),
        ({"questions": []}, "questions must be a non-empty list"),
        ({"questions": BANK["questions"], "answers": [0, 1]}, r"unknown keys \['answers'\]"),
        ({"questions": BANK["questions"], "title": ""}, "title must be a non-empty string"),
        ({"questions": ["Which?"]}, "question 1 must be an object"),
        ({"questions": [{k: v for k, v in BANK["questions"][0].items() if k != "explain"}]},
         r"question 1: missing \['explain'\]"),
        (_question(explain="  "), "question 1: explain must be a non-empty string"),
        (_question(explanation="x"), r"question 1: unknown keys \['explanation'\]"),
        (_question(answer=2), "question 1: answer must be an index in 0..1"),
        (_question(answer=-1), "question 1: answer must be an index in 0..1"),
        (_question(answer="0"), "question 1: answer must be an int"),
        (_question(answer=True), "question 1: answer must be an int"),
        (_question(options="token bucket"), "question 1: options must be a list of non-empty strings"),
        (_question(options=["token bucket", 3]), "question 1: options must be a list of non-empty strings"),
        (_question(options=["only one"]), "question 1: options must hold at least 2"),
        (_question(prompt=""), "question 1: prompt must be a non-empty string"),
    ],
)
def test_quiz_from_file_rejects_an_invalid_bank_naming_file_and_question(tmp_path, bank, message):
    path = _bank_file(tmp_path, bank, "bad.json")
    with pytest.raises(ValueError, match=message) as raised:
        Quiz.from_file(path)
    assert "bad.json" in str(raised.value)


def test_quiz_from_file_names_the_question_that_is_wrong(tmp_path):
    bank = {"questions": [BANK["questions"][0], BANK["questions"][1] | {"answer": 3}]}
    with pytest.raises(ValueError, match="question 2: answer must be an index in 0..2, got 3"):
        Quiz.from_file(_bank_file(tmp_path, bank))
