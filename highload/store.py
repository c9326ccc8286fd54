"""The old name of :mod:`highload.redis_client`, kept importable for one release.

A plain re-export with no warning: nbgrader scores a graded cell 0 on any stderr.
"""

from highload.redis_client import (
    CONNECT_TIMEOUT,
    RETRIES,
    SOCKET_TIMEOUT,
    answers,
    connect,
    connect_async,
    describe,
    free_port,
    serve_embedded,
)

__all__ = ["connect", "connect_async", "describe", "answers", "serve_embedded", "free_port",
           "CONNECT_TIMEOUT", "SOCKET_TIMEOUT", "RETRIES"]
