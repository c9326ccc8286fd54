"""Redis cache storage, shared by every process: entries, fill-cancelling generations, locks.

A cache uses a backend through its view under the cache's ``name`` (:meth:`BackendLayout.scoped`),
so below ``{prefix}`` stands for ``<backend prefix><cache name>|``: names cannot hold ``|``, so
no cache's namespace is a prefix of another's and ``clear()`` deletes only its own keys.

Layout for a key ``k`` under ``prefix`` (the braces are a Redis Cluster hash tag, so one
key's records share a slot and each script touches one slot)::

    {prefix}{k}         the packed entry (header + codec bytes), PX = ttl + stale window
    {prefix}{k}:gen     a random generation, renewed by every write and invalidation
    {prefix}{k}:lock    the single-flight lock: SET NX PX, released by compare-and-delete
    {prefix}{k}:done    pub/sub channel: "the lock was released", for waiting processes
    {prefix}invalidate  pub/sub channel: names of written or invalidated keys (near-caches)

Freshness is decided in Python against the entry's ``created`` time from the injected
clock, so the Redis path is as deterministic under test as the memory one. The PX expiry
only reclaims memory, in Redis's real time. Use one clock across processes (the default,
``time.time``), not ``time.monotonic``, which differs between hosts; where hosts' clocks
drift apart, ``clock=backend.server_time`` reads Redis's ``TIME`` instead.

Failure policy (fail-open for reads): the caches treat an outage (as classified by
:mod:`highload.outages`: connection loss, timeouts, ``LOADING``, ``TRYAGAIN``,
``CLUSTERDOWN``) from these methods as a miss and call the loader, and they skip the
fill and the lock; any other error (``WRONGTYPE``, ``READONLY``, ``OOM``, a failed login)
raises. Writes and invalidations raise, because a silently skipped
invalidation would leave a stale entry (for at most its ttl).

This module is the part of :class:`~highload.cache.RedisBackend` /
:class:`~highload.cache.AsyncRedisBackend` (and of the Redis write-back buffers) that does
no I/O: key names, script arguments, decoding, the client check. Their round trips are
written once, in ``_async/redis_backend.py`` and ``_async/redis_buffer.py``.
"""

from __future__ import annotations

import copy
import math
import time
import uuid
from collections.abc import Hashable
from typing import Any

from highload import _validate
from highload.outages import CAUGHT

from . import scripts
from .codec import Codec, check_codec, pack, unpack
from .entry import Entry

__all__ = ["OUTAGE_ERRORS", "key_name", "check_client", "BackendLayout", "BufferLayout"]

#: the errors a cache catches around a Redis call; :func:`highload.outages.is_outage` then says
#: which are outages (fail open) and which must raise. The old name of ``highload.outages.CAUGHT``.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = CAUGHT


def milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def key_name(key: Hashable) -> str:
    """The text a key is stored under in Redis: str as is, int via str(), bytes as UTF-8."""
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode()
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise TypeError(f"key must be a str, bytes or int on Redis, got {key!r}")


def check_client(client, asynchronous: bool):
    """``client``, or :func:`highload.redis_client.connect` / ``connect_async()`` when it is None."""
    if client is None:
        from highload.redis_client import connect, connect_async

        return connect_async() if asynchronous else connect()
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    if kwargs.get("decode_responses"):
        raise ValueError("client must be created with decode_responses=False: entries are bytes")
    return client


def check_prefix(prefix) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix must be a non-empty str, got {prefix!r}")
    if "|" in prefix:
        raise ValueError(f"prefix must not contain '|' (it ends a cache's name), got {prefix!r}")
    return prefix


class BackendLayout:
    """Where a Redis backend keeps one key's records, and the arguments of its scripts."""

    distributed = True
    outage_errors = OUTAGE_ERRORS
    default_clock = staticmethod(time.time)

    def _configure(self, client, prefix: str, codec: Codec | None, generation_ttl: float, notify: bool,
                   *, asynchronous: bool) -> None:
        self.prefix = check_prefix(prefix)
        self.client = check_client(client, asynchronous)
        self.codec = check_codec(codec)
        self.generation_ttl = _validate.seconds("generation_ttl", generation_ttl)
        if not isinstance(notify, bool):
            raise TypeError(f"notify must be True or False, got {notify!r}")
        self.notify = notify
        #: near-caches subscribe here; each message is one written or invalidated key name
        self.channel = prefix + "invalidate"
        #: a message here means "drop everything" (sent by clear())
        self.clear_channel = prefix + "invalidate:all"
        self._gen_ms = milliseconds(self.generation_ttl)
        self._fill_script, self._put_script, self._unlock_script = (scripts.register(self.client, name) for name in ("fill", "put", "unlock"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r}, codec={self.codec!r})"

    def scoped(self, name: str):
        """This backend under one cache's ``name``: keys ``<prefix><name>|{k}``, its own channels.
        Names hold no ``|``, so no cache's namespace is a prefix of another's (``clear()`` stays
        inside its own)."""
        view = copy.copy(self)
        view.prefix = f"{self.prefix}{name}|"
        view.channel = view.prefix + "invalidate"
        view.clear_channel = view.prefix + "invalidate:all"
        return view

    name_of = staticmethod(key_name)

    def entry_key(self, key: Hashable) -> str:
        # {hash tag}: an entry and its :gen/:lock keys land in one Redis Cluster slot.
        if type(key) is str:
            return self.prefix + "{" + key + "}"
        return f"{self.prefix}{{{key_name(key)}}}"

    def _decode(self, raw) -> Entry | None:
        if raw is None:
            return None
        try:
            return unpack(raw, self.codec)
        except Exception:  # an entry this codec cannot read (another version, corruption): a miss
            return None

    @staticmethod
    def _px(entry: Entry) -> int | str:
        life = entry.ttl + entry.stale
        return "" if life == math.inf else milliseconds(life)

    def _put_args(self, key: Hashable, entry: Entry | None) -> tuple[list, list]:
        name = key_name(key)
        base = self.entry_key(name)
        payload, px = (b"", "") if entry is None else (pack(entry, self.codec), self._px(entry))
        channel = self.channel if self.notify else ""
        return [base, base + ":gen"], [uuid.uuid4().hex, self._gen_ms, payload, px, channel, name]

    def _fill_args(self, key: Hashable, entry: Entry, token) -> tuple[list, list]:
        base = self.entry_key(key)
        return [base, base + ":gen"], [token, pack(entry, self.codec), self._px(entry)]


class BufferLayout:
    """Where a Redis write-back buffer keeps values and dirty marks, and its scripts' arguments."""

    outage_errors = OUTAGE_ERRORS

    def _configure(self, client, prefix: str, codec: Codec | None, *, asynchronous: bool) -> None:
        self.prefix = check_prefix(prefix)
        self.client = check_client(client, asynchronous)
        self.codec = check_codec(codec)
        self.keys = [prefix + "data", prefix + "dirty"]
        self._write_script, self._clean_script = (scripts.register(self.client, name) for name in ("buffer_write", "buffer_clean"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"

    def scoped(self, name: str):
        """This buffer under one cache's ``name``: ``<prefix>{<name>}|data`` and ``|dirty``, one
        hash tag, so the scripts that touch both stay on one Redis Cluster slot."""
        view = copy.copy(self)
        view.prefix = f"{self.prefix}{{{name}}}|"
        view.keys = [view.prefix + "data", view.prefix + "dirty"]
        return view

    def _pairs(self, names, raws) -> list[tuple[str, Any, bytes]]:
        names = [n.decode() if isinstance(n, bytes) else n for n in names]
        return [(n, self.codec.loads(raw), raw) for n, raw in sorted(zip(names, raws, strict=True)) if raw is not None]

    @staticmethod
    def _clean_args(flushed) -> list:
        args: list = []
        for key, _, version in flushed:
            args += [key, version]
        return args


def glob_literal(text: str) -> str:
    """Escape glob metacharacters so SCAN MATCH takes ``text`` literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
