"""Lesson 04 also runs where Postgres is missing: on the simulated replica set, which it labels.

(tests/test_notebooks.py runs it on real Postgres wherever Postgres is installed.)
"""

from __future__ import annotations

import pytest

from tests.test_notebooks import ROOT, _stderr, execute

pytestmark = pytest.mark.notebooks
LESSON = ROOT / "course" / "04_replication_and_consistency.ipynb"


def test_lesson_04_runs_on_the_simulation_and_says_so(monkeypatch):
    monkeypatch.setenv("HIGHLOAD_REPLICATION", "simulation")
    nb = execute(LESSON, monkeypatch)
    assert not _stderr(nb)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "text" in o)
    assert "simulated replica set" in text and "not a real database" in text
    assert "lost 5 commits" in text
