"""What every visualizer shares: it shows as its ``widget`` (a VBox of controls, chart and
summary), redraws through ``update()`` when a control changes, and reads as ``Name(label)`` where
widgets cannot render (a static export, a plain console)."""

from __future__ import annotations

from highload import _simulate


class Panel:
    """Mixin for a visualizer with ``widget``, ``update()`` and, usually, ``impl``."""

    #: How to name the package's own class when ``impl`` is None.
    _default_impl_name = "None"

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
