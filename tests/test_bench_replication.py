"""``python -m bench replication``'s in-process parts, at smoke settings: every row prints, the
cost table parses for ``bench compare``, and token routing is never stale (the Postgres parts
run in the bench itself and in the lesson)."""

from __future__ import annotations

from bench import replication
from bench._harness import Settings
from bench._report import ratio_table
from bench.compare import parse_rows


def test_decision_cost_rows_parse_for_bench_compare():
    rows = replication.decision_cost(Settings.smoke())
    assert [r.case for r in rows] == ["ReadRouter(SessionToken()).read",
                                      "ReadRouter(SessionToken(monotonic=False, remember_positions=True)).read",
                                      "SessionRouter.read (the exercise)",
                                      "replica.applied_lsn + replica.read, no router"]
    parsed = parse_rows(ratio_table(rows, "reads/s"))
    assert len(parsed) == 4 and all(m.higher_is_better for m in parsed.values())


def test_share_on_the_simulation_has_a_row_per_lag_model_and_scale():
    rows = replication.share_on_simulation(Settings.smoke())
    assert [r[0] for r in rows] == [f"simulation, {model} lag, scale {scale:g} s"
                                    for model in replication.LAG_MODELS for scale in replication.SCALES]


def test_the_shortest_safe_pin_is_safe_and_anything_shorter_is_not():
    from highload.replication import TimePinning

    pin = replication._shortest_safe_pin(0.1, 0, 20, "jittered")
    assert pin > 0
    assert replication._simulated_run(TimePinning(pin), 0.1, 0, 20, "jittered")[1] == 0
    assert replication._simulated_run(TimePinning(pin * 0.99), 0.1, 0, 20, "jittered")[1] > 0


def test_registered():
    from bench.__main__ import SUITES

    assert "replication" in SUITES
