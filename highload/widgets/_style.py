"""The palette every widget draws with (plotly's default qualitative colours, named), so the same
meaning has the same colour across lessons: green is good or admitted, red is bad or rejected."""

from __future__ import annotations

RED = "#d62728"
ORANGE = "#ff7f0e"
BLUE = "#1f77b4"
GREEN = "#2ca02c"
PURPLE = "#9467bd"
GREY = "#7f7f7f"
LIGHT_GREY = "#c7c7c7"

__all__ = ["RED", "ORANGE", "BLUE", "GREEN", "PURPLE", "GREY", "LIGHT_GREY"]
