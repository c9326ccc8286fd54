"""The cache's Lua scripts, read from the package's ``lua/`` resource files and run with EVALSHA.

A server that does not know a script (first use, a restart, ``SCRIPT FLUSH``) answers
NOSCRIPT; the helpers then load it and run it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from redis.exceptions import NoScriptError

__all__ = ["Script", "script", "NAMES", "run", "arun"]

NAMES = ("fill", "put", "unlock", "buffer_write", "buffer_clean")


class Script:
    """A script's source and SHA1."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Script({self.name!r})"


@cache
def script(name: str) -> Script:
    if name not in NAMES:
        raise ValueError(f"name must be one of {NAMES}, got {name!r}")
    return Script(name, files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8"))


def run(client, name: str, keys: Sequence, args: Sequence):
    s = script(name)
    try:
        return client.evalsha(s.sha, len(keys), *keys, *args)
    except NoScriptError:
        client.script_load(s.source)
        return client.evalsha(s.sha, len(keys), *keys, *args)


async def arun(client, name: str, keys: Sequence, args: Sequence):
    s = script(name)
    try:
        return await client.evalsha(s.sha, len(keys), *keys, *args)
    except NoScriptError:
        await client.script_load(s.source)
        return await client.evalsha(s.sha, len(keys), *keys, *args)
