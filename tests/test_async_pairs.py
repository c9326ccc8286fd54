"""Every asyncio name in the public API has the same face as its sync twin.

For each ``AsyncX`` exported next to an ``X`` (and each ``aname`` next to a ``name``) in the
packages below, the public methods, properties and attributes are the same, and every
method takes the same parameters (names, kinds and defaults; annotations may differ). The
asyncio side may be coroutines, and a few names are spelled the asyncio way (``aclose``,
``__aenter__``), as ``scripts/unasync.py`` spells them.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = ("highload.cache", "highload.ratelimit", "highload.resilience", "highload.carts")

#: the asyncio spelling of a sync name (the same pairs scripts/unasync.py rewrites)
ASYNC_SPELLING = {"aclose": "close", "acall": "call", "__aenter__": "__enter__", "__aexit__": "__exit__"}
#: special methods that are part of a class's public face
DUNDERS = {"__init__", "__call__", "__len__", "__contains__", "__iter__", "__enter__", "__exit__",
           "__aenter__", "__aexit__"}

#: Real, justified differences: (package, async name, member) -> why. Each entry is a
#: difference the twins must keep; anything else that differs fails the test. None today.
ALLOWED: dict[tuple[str, str, str], str] = {}


def pairs() -> list[tuple[str, str, str]]:
    found = []
    for package in PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:  # a package that does not exist (yet)
            continue
        names = set(getattr(module, "__all__", ()))
        for name in sorted(names):
            if name.startswith("Async") and name[5:] in names:
                found.append((package, name, name[5:]))
            elif name.startswith("a") and name[1:] in names and callable(getattr(module, name)):
                found.append((package, name, name[1:]))
    return found


def face(obj) -> dict[str, object]:
    """Public members of a class by their sync name (a function is its own one member)."""
    if not inspect.isclass(obj):
        return {"()": obj}
    members = {}
    for name in dir(obj):
        if name.startswith("_") and name not in DUNDERS:
            continue
        if name == "__init__" and obj.__init__ is object.__init__:
            continue
        members[ASYNC_SPELLING.get(name, name)] = inspect.getattr_static(obj, name)
    return members


def shape(member) -> tuple:
    """What the pair must agree on: the kind of member, and a callable's parameters."""
    if isinstance(member, property):
        return ("property",)
    kind = type(member).__name__ if isinstance(member, classmethod | staticmethod) else "method"
    function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
    if not callable(function):
        return ("attribute",)
    try:
        signature = inspect.signature(function)
    except ValueError:  # a builtin without one (default_clock = time.time): compared by identity
        return (kind, function)
    return (kind, [(p.name, p.kind.name, repr(p.default)) for p in signature.parameters.values()])


def test_the_walk_finds_the_known_pairs():
    found = {(package, a) for package, a, _ in pairs()}
    for expected in [("highload.cache", "AsyncCacheAside"), ("highload.cache", "AsyncNearCache"),
                     ("highload.cache", "AsyncWriteThroughCache"), ("highload.cache", "AsyncWriteBackCache"),
                     ("highload.cache", "AsyncMemoryBackend"), ("highload.cache", "AsyncRedisBackend"),
                     ("highload.cache", "AsyncRedisBuffer"), ("highload.cache", "AsyncSingleFlight"),
                     ("highload.cache", "AsyncCacheBackend"), ("highload.cache", "AsyncWriteBuffer"),
                     ("highload.ratelimit", "AsyncRateLimiter"), ("highload.ratelimit", "acheck_all"),
                     ("highload.ratelimit", "aallow_all"), ("highload.resilience", "AsyncBulkhead")]:
        assert expected in found


@pytest.mark.parametrize(("package", "async_name", "sync_name"), pairs(), ids=lambda v: v)
def test_async_twin_has_the_same_public_face(package, async_name, sync_name):
    module = importlib.import_module(package)
    async_face, sync_face = face(getattr(module, async_name)), face(getattr(module, sync_name))
    problems = []
    for name in sorted(set(async_face) | set(sync_face)):
        if (package, async_name, name) in ALLOWED:
            continue
        if name not in async_face or name not in sync_face:
            problems.append(f"{name}: only in {async_name if name in async_face else sync_name}")
        elif shape(async_face[name]) != shape(sync_face[name]):
            problems.append(f"{name}: {async_name} {shape(async_face[name])} != {sync_name} {shape(sync_face[name])}")
    assert not problems, "\n".join(problems)


def test_every_allowed_difference_still_exists():
    """An allow-list entry whose difference is gone must go too."""
    live = {(package, a): s for package, a, s in pairs()}
    for package, async_name, member in ALLOWED:
        assert (package, async_name) in live, f"{package}.{async_name} is no longer a pair"
        module = importlib.import_module(package)
        async_face, sync_face = face(getattr(module, async_name)), face(getattr(module, live[package, async_name]))
        same = member in async_face and member in sync_face and shape(async_face[member]) == shape(sync_face[member])
        assert not same, f"{package}.{async_name}.{member} no longer differs: drop it from ALLOWED"


def test_the_comparison_sees_a_drifted_twin():
    """The check itself: a missing parameter, a changed default and a method on one side only."""

    class Thing:
        def get(self, key, loader=None): ...

        def close(self): ...

    class AsyncThing:
        async def get(self, key): ...

        async def aclose(self): ...

        async def extra(self): ...

    assert face(AsyncThing).keys() - face(Thing).keys() == {"extra"}
    assert shape(face(AsyncThing)["get"]) != shape(face(Thing)["get"])
    assert shape(face(AsyncThing)["close"]) == shape(face(Thing)["close"])
