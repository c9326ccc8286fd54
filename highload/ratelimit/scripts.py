"""Loads the Lua scripts from the package's resource files and composes them per operation.

Each function returns Lua source; a storage registers it with redis-py's
``client.register_script`` and runs it with :func:`highload._lua.evalsha`.
"""

from __future__ import annotations

from functools import cache

from highload import _lua

ALGORITHMS = (
    "token_bucket",
    "leaky_bucket",
    "fixed_window",
    "sliding_window_log",
    "sliding_window_counter",
)


def _read(name: str) -> str:
    return _lua.read(__package__, name)


def _lua_bool(brief: bool) -> str:
    return "true" if brief else "false"


@cache
def single(algorithm: str, brief: bool = False) -> str:
    """The one-key check for ``algorithm``; ``brief`` replies only 1 or 0 (for ``allow``)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    driver = f"return single(ALGORITHMS.{algorithm}, {_lua_bool(brief)})"
    return f"{_read('prelude')}\n{_read(algorithm)}\n{driver}\n"


@cache
def multi(brief: bool = False) -> str:
    """The all-or-nothing check over several keys, each with its own algorithm."""
    libs = "\n".join(_read(name) for name in ALGORITHMS)
    return f"{_read('prelude')}\n{libs}\nreturn multi({_lua_bool(brief)})\n"


@cache
def settle(brief: bool = False) -> str:
    """Give a cost back on several keys of one slot and report them (check_all on a cluster)."""
    libs = "\n".join(_read(name) for name in ALGORITHMS)
    return f"{_read('prelude')}\n{libs}\n{_read('refund')}\nreturn settle({_lua_bool(brief)})\n"
