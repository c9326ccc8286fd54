"""What every visualizer shares: it shows as its ``widget`` (a VBox of controls, chart and
summary), redraws through ``update()`` when a control changes, and reads as ``Name(label)`` where
widgets cannot render (a static export, a plain console)."""

from __future__ import annotations


class Panel:
    """Mixin for a visualizer with ``widget``, ``update()`` and, usually, ``impl``."""

    def _watch(self, *controls) -> None:
        """Redraw whenever one of ``controls`` changes its value."""
        for control in controls:
            control.observe(self._on_change, names="value")

    def _on_change(self, _change=None) -> None:
        self.update()

    def _impl_name(self) -> str:
        return getattr(self.impl, "__name__", repr(self.impl))

    def _label(self) -> str:
        """What the plain-text form shows in the parentheses: the impl's name, unless overridden."""
        return self._impl_name()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{type(self).__name__}({self._label()})"
        return bundle
