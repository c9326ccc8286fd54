"""What the simulation engines share: the RNG seed check, naming the class a learner passed as
``impl=``, and calling it so that an error says which call failed.

Engines live in their topic packages (``highload.cache.simulation``, ...) and run without the
``viz`` extra; the widgets only draw what they return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from highload import _validate

__all__ = ["check_seed", "check_impl", "impl_name", "call"]


def check_seed(seed) -> int:
    """An ``int`` RNG seed; the bound keeps ``seed + 1`` (a second stream) an exact int everywhere."""
    return _validate.integer("seed", seed, minimum=-(2**62))


def check_impl(impl, contract: str) -> None:
    """``impl`` is None (use the package's class) or a callable; ``contract`` says what it must build."""
    if impl is not None and not callable(impl):
        raise TypeError(f"impl must be {contract}, got {impl!r}")


def impl_name(impl, default: str) -> str:
    """How errors and titles name ``impl``: its ``__name__``, its type's name, or ``default`` for None."""
    if impl is None:
        return default
    return getattr(impl, "__name__", type(impl).__name__)


def call(what: str, fn: Callable, *args, **kwargs) -> Any:
    """``fn(*args, **kwargs)``; an exception leaves with the note ``in {what}``, so a learner sees where."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        exc.add_note(f"in {what}")
        raise
