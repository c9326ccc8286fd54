"""Loads the Lua scripts from the package's resource files and composes them per operation."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

ALGORITHMS = (
    "token_bucket",
    "leaky_bucket",
    "fixed_window",
    "sliding_window_log",
    "sliding_window_counter",
)


def _read(name: str) -> str:
    return files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


class Script:
    """A composed script and its SHA1, ready for EVALSHA."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


def _lua_bool(brief: bool) -> str:
    return "true" if brief else "false"


@cache
def single(algorithm: str, brief: bool = False) -> Script:
    """The one-key check for ``algorithm``; ``brief`` replies only 1 or 0 (for ``allow``)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    driver = f"return single(ALGORITHMS.{algorithm}, {_lua_bool(brief)})"
    return Script(f"{_read('prelude')}\n{_read(algorithm)}\n{driver}\n")


@cache
def multi(brief: bool = False) -> Script:
    """The all-or-nothing check over several keys, each with its own algorithm."""
    libs = "\n".join(_read(name) for name in ALGORITHMS)
    return Script(f"{_read('prelude')}\n{libs}\nreturn multi({_lua_bool(brief)})\n")
