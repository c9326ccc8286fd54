"""``from highload.widgets import X`` works for every panel a lesson uses, lazily: each name in
``_EXPORTS`` is the class its module defines, and an unknown name is an AttributeError."""

from __future__ import annotations

from importlib import import_module

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

import highload.widgets as widgets  # noqa: E402


@pytest.mark.parametrize("name", sorted(widgets._EXPORTS))
def test_every_export_is_the_class_its_module_defines(name):
    module = import_module(widgets._EXPORTS[name], "highload.widgets")
    assert getattr(widgets, name) is getattr(module, name)
    assert name in widgets.__all__


def test_lesson_04s_lag_timeline_is_exported():
    from highload.widgets import LagTimeline
    from highload.widgets.replication import LagTimeline as defined

    assert LagTimeline is defined


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchWidget"):
        widgets.NoSuchWidget  # noqa: B018
