"""How values cross the wire to Redis: a codec for the value, and a small header for the entry.

JSON is the default: it is safe to read from a shared server and readable in
``redis-cli``, but it turns tuples into lists and dict keys into strings. Use
:class:`PickleCodec` only when every writer to that Redis is trusted: unpickling runs code.
"""

from __future__ import annotations

import json
import json.scanner
import pickle
import struct
from typing import Any, Protocol, runtime_checkable

from .entry import Entry

__all__ = ["Codec", "JsonCodec", "PickleCodec", "pack", "unpack", "check_codec"]


@runtime_checkable
class Codec(Protocol):
    """Turns values into bytes and back."""

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


_decoder = json.JSONDecoder()
_scan = json.scanner.make_scanner(_decoder)


def _json_decode(text: str) -> Any:
    """``json.loads`` for the hit path: the C scanner straight away, skipping the two whitespace
    regex matches around it. What :class:`JsonCodec` wrote has no surrounding whitespace; any
    other text takes the full decoder, which also raises the usual ``JSONDecodeError``."""
    try:
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except StopIteration:
        pass
    return _decoder.decode(text)


class JsonCodec:
    """Compact UTF-8 JSON."""

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(self, data: bytes) -> Any:
        return _json_decode(data.decode())

    def __repr__(self) -> str:
        return "JsonCodec()"


class PickleCodec:
    """Any picklable value, exactly. Only for a Redis that no untrusted party can write to."""

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)  # noqa: S301 - documented: trusted servers only

    def __repr__(self) -> str:
        return "PickleCodec()"


def check_codec(codec) -> Codec:
    if codec is None:
        return JsonCodec()
    if not isinstance(codec, Codec):
        raise TypeError(f"codec must have dumps(value) -> bytes and loads(bytes), got {codec!r}")
    return codec


#: An entry on the wire: a 2-byte format tag, the four times as little-endian doubles (exact,
#: and decoded in one call on the hit path), then the codec's bytes for the value.
_TAG = b"e1"
_TIMES = struct.Struct("<4d")
_BODY = len(_TAG) + _TIMES.size


def pack(entry: Entry, codec: Codec) -> bytes:
    """``e1`` + ``created ttl stale delta`` as doubles + the encoded value."""
    return _TAG + _TIMES.pack(entry.created, entry.ttl, entry.stale, entry.delta) + codec.dumps(entry.value)


def unpack(data: bytes, codec: Codec) -> Entry:
    if data[:2] != _TAG:
        raise ValueError(f"not a highload cache entry (format tag {data[:2]!r})")
    created, ttl, stale, delta = _TIMES.unpack_from(data, 2)
    return Entry(codec.loads(data[_BODY:]), created, ttl, stale, delta)
