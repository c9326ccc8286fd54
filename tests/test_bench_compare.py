"""`python -m bench compare` reads the rows of any suite's report; no timing is asserted."""

from __future__ import annotations

from bench._harness import Paired
from bench._report import RatioRow, ratio_table
from bench.compare import parse_rows


def _paired(case: list[float], ref: list[float]) -> Paired:
    return Paired(case_rates=case, ref_rates=ref)


def test_reads_every_ratio_row_of_a_ratio_table():
    rows = [
        RatioRow("Redis algorithms", "highload token bucket allow()", "EVALSHA floor",
                 _paired([900.0, 800.0], [1000.0, 1000.0]), target=0.9),
        RatioRow("Redis algorithms", "limits MovingWindow.hit()", "EVALSHA floor",
                 _paired([300.0, 500.0], [1000.0, 1000.0])),
        RatioRow("HTTP", "FastAPI GET /", "no middleware", skipped="wrk is not installed"),
    ]
    parsed = parse_rows("header line\n" + ratio_table(rows, "ops/s") + "\n3 PASS")
    assert {k: (m.value, m.higher_is_better) for k, m in parsed.items()} == {
        "[Redis algorithms] highload token bucket allow() | EVALSHA floor": (0.85, True),
        "[Redis algorithms] limits MovingWindow.hit() | EVALSHA floor": (0.40, True),
    }


def test_a_row_without_a_ratio_is_a_cost_where_lower_is_better():
    text = "\n".join([
        "case  overhead us  reference  ref us  ratio  range  target  status",
        "[closed path]",
        "highload call(f)  0.223  direct f() (floor)  0.031  -  0.20-0.25 us  <= 0.50 us  PASS",
    ])
    (key, measure), = parse_rows(text).items()
    assert key == "[closed path] highload call(f) | direct f() (floor)"
    assert (measure.value, measure.higher_is_better) == (0.223, False)
