"""Every visualizer shows its whole chart as one plotly output, redrawn whole on every change.

A plotly FigureWidget would ship plotly's 5 MB front-end module per chart, and anywidget gives it
2 s to load; on a busy machine the browser tests saw it miss, and the chart then stayed empty.
The chart is therefore an Output holding the whole figure, which JupyterLab's plotly renderer draws.
"""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

import highload.widgets as widgets  # noqa: E402
from highload.widgets._panel import PLOTLY_MIME, Panel  # noqa: E402

VISUALIZERS = [name for name in widgets.__all__ if isinstance(getattr(widgets, name), type)
               and issubclass(getattr(widgets, name), Panel)]


def _tree(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _tree(child)


def _shown(viz) -> dict:
    (output,) = viz.chart.outputs
    assert output["output_type"] == "display_data"
    return output["data"][PLOTLY_MIME]


def test_every_visualizer_is_covered():
    assert len(VISUALIZERS) >= 10, VISUALIZERS


@pytest.mark.parametrize("name", VISUALIZERS)
def test_the_chart_shows_the_whole_figure_from_the_first_draw(name):
    viz = getattr(widgets, name)()
    assert viz.chart in viz.widget.children
    assert not any(hasattr(w, "_esm") for w in _tree(viz.widget)), "no anywidget in the tree"
    shown = _shown(viz)
    assert [t["type"] for t in shown["data"]] == [t.type for t in viz.figure.data]
    for sent, trace in zip(shown["data"], viz.figure.data, strict=True):
        assert list(sent.get("x", [])) == list(trace.x if trace.x is not None else [])
        assert list(sent.get("y", [])) == list(trace.y if trace.y is not None else [])
    assert any(len(t.get("x", [])) for t in shown["data"]), "the first draw holds data"
    assert shown["layout"].get("height") == viz.figure.layout.height
    assert viz.chart.layout.min_height == f"{viz.figure.layout.height or 450}px"


def test_a_slider_move_replaces_the_shown_figure():
    viz = widgets.CapacityCalculator()
    before = _shown(viz)
    viz.controls["peak_factor"].value = 9.0
    after = _shown(viz)
    assert after["data"][2]["y"] == [viz.plan.servers] != before["data"][2]["y"]
    assert after["layout"]["title"]["text"].endswith(f"= {viz.plan.servers:,}")


def test_a_learners_error_clears_the_shown_chart():
    def broken(*_args, **_kwargs):
        raise RuntimeError("not yet")

    viz = widgets.CapacityCalculator(impl=broken)
    assert all(not t.get("x") for t in _shown(viz)["data"])
    assert "raised" in viz.summary.value
