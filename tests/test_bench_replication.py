"""``python -m bench replication``'s in-process parts, at smoke settings: every row prints, and
token routing is never stale (the Postgres parts run in the bench itself and in the lesson)."""

from __future__ import annotations

from bench import replication
from bench._harness import Settings


def test_decision_cost_rows():
    rows = replication.decision_cost(Settings.smoke())
    assert [r[0] for r in rows] == ["ReadRouter(SessionToken()).read", "SessionRouter.read"]
    assert all(r[3].endswith("x") for r in rows)


def test_share_on_the_simulation_has_a_row_per_lag_scale():
    rows = replication.share_on_simulation(Settings.smoke())
    assert [r[0].split(",")[0] for r in rows] == ["simulation"] * len(replication.SCALES)


def test_registered():
    from bench.__main__ import SUITES

    assert "replication" in SUITES
