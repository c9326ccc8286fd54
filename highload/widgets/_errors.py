"""How a widget shows an exception instead of raising it (a learner's half-written class must not
kill the widget)."""

from __future__ import annotations


def error_text(exc: BaseException) -> str:
    """``Type: message``, then any notes added on the way up (e.g. "at request #1")."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    notes = " ".join(getattr(exc, "__notes__", ()))
    return f"{text} {notes}".strip()
