"""Lesson 05 in a real JupyterLab: it runs top to bottom, and the RingExplorer redraws when a node is added.

Reuses test_browser's lab, browser and page fixtures (module-scoped: this module gets its own lab)."""

from __future__ import annotations

from tests.test_browser import (  # noqa: F401 - fixtures are found by name
    ARTIFACTS,
    ROOT,
    SLIDER,
    _drawn,
    _move_slider,
    _open_notebook,
    _plot_data,
    _run_all,
    _slider_widget,
    browser,
    lab,
    page,
    pytestmark,
)

LESSON_05 = "course/05_sharding.ipynb"


def test_lesson_05_ring_explorer_renders_and_responds(lab, page):  # noqa: F811
    before = (ROOT / LESSON_05).read_bytes()
    nb = _open_notebook(page, lab, LESSON_05, "lesson05-opened.png")
    _run_all(page, nb)

    box, plot = _slider_widget(page, "vnodes per node")
    _drawn(page, plot)
    nodes = box.locator(SLIDER).filter(has_text="nodes").first
    assert "4" in nodes.locator(".widget-readout").inner_text()
    assert "peak-to-mean" in box.inner_text()
    box.screenshot(path=str(ARTIFACTS / "lesson05-ring.png"))

    data_before = _move_slider(page, nodes, plot)  # five steps: 4 -> 9 nodes
    page.wait_for_function("gd => ((gd.layout.title || {}).text || '').includes('9 nodes')",
                           arg=plot.element_handle())
    assert _plot_data(plot) != data_before
    bars = plot.evaluate("gd => gd.data[0].x.length")
    assert bars == 9, f"one bar per node, got {bars}"
    assert "The last change moved" in box.inner_text(), "the readout reports the keys that moved"
    box.screenshot(path=str(ARTIFACTS / "lesson05-ring-nodes-added.png"))
    # The tracked notebook is untouched by running it in the lab (the lab works on a copy).
    assert (ROOT / LESSON_05).read_bytes() == before
