"""The cache's Lua scripts: ``lua/*.lua`` resource files, run through redis-py's ``register_script``.

A registered script runs with EVALSHA; on NOSCRIPT (first use, a restart, ``SCRIPT FLUSH``)
redis-py loads it and runs it again. It works the same on sync and asyncio clients
(``Script`` / ``AsyncScript``), so the backends need no handling of their own.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

__all__ = ["NAMES", "source", "register"]

NAMES = ("fill", "put", "unlock", "buffer_write", "buffer_clean")


@cache
def source(name: str) -> str:
    """The Lua source of the script ``name`` (read once per process)."""
    if name not in NAMES:
        raise ValueError(f"name must be one of {NAMES}, got {name!r}")
    return files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def register(client, name: str):
    """The script ``name`` bound to ``client``: call it with ``keys=`` and ``args=`` (and await it
    on an asyncio client)."""
    return client.register_script(source(name))
