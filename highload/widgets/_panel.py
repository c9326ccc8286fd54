"""What every visualizer shares: it shows as its ``widget`` (a VBox of controls, chart and
summary), redraws through ``update()`` when a control changes, and reads as ``Name(label)`` where
widgets cannot render (a static export, a plain console).

The chart is a plain plotly ``Figure`` shown in an ``Output`` widget through JupyterLab's plotly
renderer, not a ``FigureWidget``. A FigureWidget ships plotly's 5 MB front-end module with every
instance, and anywidget gives that module 2 s to load: on a busy machine (a shared Binder, CI) it
misses, every later message to the chart is dropped, and the chart stays empty for good. A whole
figure sent as one output has no such race, and the renderer loads once per page.
"""

from __future__ import annotations

import json

import ipywidgets as widgets

from highload import _simulate

#: The MIME type JupyterLab's plotly renderer (shipped with plotly) draws.
PLOTLY_MIME = "application/vnd.plotly.v1+json"
DEFAULT_HEIGHT = 450  # plotly's own default, for a figure that sets none


class Panel:
    """Mixin for a visualizer with ``figure``, ``widget``, ``_recompute()`` and, usually, ``impl``.

    ``_recompute()`` computes with the current controls and draws into ``figure`` (a
    ``plotly.graph_objects.Figure``); ``update()`` adds showing the result in ``chart``.
    """

    #: How to name the package's own class when ``impl`` is None.
    _default_impl_name = "None"

    def update(self):
        """Recompute with the current controls and redraw; returns the result (None on error)."""
        result = self._recompute()
        self._show()
        return result

    @property
    def chart(self) -> widgets.Output:
        """The widget that shows ``figure``; its height is reserved, so a redraw never jumps."""
        try:
            return self._chart
        except AttributeError:
            height = self.figure.layout.height or DEFAULT_HEIGHT
            self._chart = widgets.Output(layout={"min_height": f"{height}px"})
            self._chart.add_class("hl-chart")
            return self._chart

    def _show(self) -> None:
        """Replace what ``chart`` shows with the whole current ``figure``."""
        figure = json.loads(self.figure.to_json())  # plotly's encoder: numpy arrays, dates
        self.chart.outputs = ({
            "output_type": "display_data",
            "data": {PLOTLY_MIME: figure, "text/plain": f"<plotly chart: {self._title()}>"},
            "metadata": {},
        },)

    def _title(self) -> str:
        title = self.figure.layout.title.text
        return title or type(self).__name__

    def _watch(self, *controls) -> None:
        """Redraw whenever one of ``controls`` changes its value."""
        for control in controls:
            control.observe(self._on_change, names="value")

    def _on_change(self, _change=None) -> None:
        self.update()

    def _impl_name(self) -> str:
        # The engines name impl the same way in their error notes.
        return _simulate.impl_name(self.impl, self._default_impl_name)

    def _label(self) -> str:
        """What the plain-text form shows in the parentheses: the impl's name, unless overridden."""
        return self._impl_name()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{type(self).__name__}({self._label()})"
        return bundle
