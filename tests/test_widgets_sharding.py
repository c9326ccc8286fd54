"""RingExplorer draws the real ring (or the learner's), and what it draws comes from the core engine."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from highload.sharding import JumpHash  # noqa: E402
from highload.sharding.explore import snapshot  # noqa: E402
from highload.widgets import RingExplorer  # noqa: E402


def test_adding_a_node_moves_keys_only_onto_it():
    explorer = RingExplorer(nodes=4, vnodes=50, keys=2000)
    explorer.controls["nodes"].value = 5
    moved = explorer.moved()
    assert moved and {target for _, target in moved} == {"db-5"}
    stayed, arrived = (list(t.y) for t in explorer.figure.data[:2])
    assert sum(stayed) + sum(arrived) == 2000 and arrived[-1] == sum(moved.values())
    assert "5 nodes x 50 vnodes" in explorer.figure.layout.title.text
    assert "% N" in explorer.summary.value


def test_more_vnodes_even_out_the_load():
    explorer = RingExplorer(nodes=8, vnodes=1, keys=4000)
    rough = explorer.current.peak_to_mean
    explorer.controls["vnodes"].value = 200
    assert explorer.current.peak_to_mean < rough and explorer.current.peak_to_mean < 1.2


def test_impl_drives_the_widget_and_errors_show_instead_of_raising():
    def jump(nodes, vnodes):
        return JumpHash(nodes)
    explorer = RingExplorer(nodes=3, impl=jump)
    assert explorer.current.loads == snapshot(3, 100, explorer.keys, impl=jump).loads

    class Half:
        def __init__(self, nodes, vnodes=100):
            pass

        def get_node(self, key):
            raise NotImplementedError
    broken = RingExplorer(impl=Half)
    assert broken.current is None and "NotImplementedError" in broken.impl_error
    assert "Half raised" in broken.summary.value


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        RingExplorer(nodes=0)
    with pytest.raises(TypeError):
        RingExplorer(impl=42)
