"""Redis connections: real Redis when ``REDIS_URL`` is set, embedded fakeredis otherwise.

The embedded store is one ``fakeredis.FakeServer`` per process, shared by every
sync and asyncio client :func:`connect` hands out, so both see the same data.
It is not shared across processes: for that, run :func:`serve_embedded` (a
``fakeredis.TcpFakeServer`` on a loopback port) and point ``REDIS_URL`` at it.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import redis

from highload.processes import free_port  # re-exported: its home before processes existed

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["connect", "connect_async", "describe", "answers", "serve_embedded", "free_port"]

_server = None
_server_lock = threading.Lock()


def _fake_server():
    global _server
    with _server_lock:
        if _server is None:
            import fakeredis

            _server = fakeredis.FakeServer()
        return _server


def _url(url: str | None) -> str | None:
    return url if url is not None else (os.environ.get("REDIS_URL") or None)


def connect(url: str | None = None, **kwargs) -> redis.Redis:
    """A sync client: ``url`` or ``REDIS_URL`` when given, else the embedded fakeredis."""
    url = _url(url)
    if url:
        return redis.Redis.from_url(url, **kwargs)
    import fakeredis

    return fakeredis.FakeRedis(server=_fake_server(), **kwargs)


def connect_async(url: str | None = None, **kwargs) -> redis.asyncio.Redis:
    """The asyncio twin of :func:`connect`, sharing the same embedded server."""
    url = _url(url)
    if url:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(url, **kwargs)
    import fakeredis

    return fakeredis.FakeAsyncRedis(server=_fake_server(), **kwargs)


def describe(url: str | None = None) -> str:
    """One line saying which store :func:`connect` would use, for lesson output."""
    url = _url(url)
    if url:
        return f"real Redis at {url}"
    # No "real Redis" in this line: the notebook tests look for those words to prove REDIS_URL was used.
    return "embedded fakeredis (no REDIS_URL set; `make lab` starts redis-server when it is installed)"


def answers(url: str, timeout: float = 1.0) -> bool:
    """True if a Redis at ``url`` answers PING within ``timeout`` seconds (to connect, and to reply)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def serve_embedded(port: int | None = None):
    """Start a fakeredis TCP server on loopback so several processes share one store.

    Returns ``(server, url)``. Call ``server.shutdown()`` when done.
    """
    from fakeredis import TcpFakeServer

    port = port or free_port()
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"redis://127.0.0.1:{port}/0"
