"""Which storage errors are outages: the one table every backend, storage and guard uses.

Fail open (or closed, as configured) is a promise about *outages*: Redis cannot be reached
or is briefly unable to answer. Any other error means the deployment or the code is wrong,
and failing open on it would silently switch a limit or a cache's invalidation off (a
WRONGTYPE once let 20 of 20 requests through a limit of 3). So:

=====================================================  ================  ==========================
error                                                  kind              behaviour
=====================================================  ================  ==========================
connection refused / reset, socket timeout             ``OUTAGE``        fail open/closed as set
``LOADING``, ``TRYAGAIN``, cluster ``CLUSTERDOWN``     ``OUTAGE``        (transient) as set
``AuthenticationError``, ``AuthorizationError``,       ``MISCONFIGURED`` raise; never fail open
``NOPERM``
``READONLY`` (wrote to a replica), ``OOM``             ``OPERATIONAL``   raise, logged once per type
``WRONGTYPE``, script errors, ``NOSCRIPT``, the rest   ``BUG``           raise
=====================================================  ================  ==========================

In redis-py 8, ``AuthenticationError``, ``AuthorizationError`` and ``BusyLoadingError``
(``LOADING``) all subclass ``ConnectionError``: an ``except ConnectionError`` cannot tell
them apart, so callers catch :data:`CAUGHT` and ask :func:`is_outage`. Errors raised inside a
Lua script arrive as ``ResponseError`` whose message starts with the server's error code;
that code is classified like the matching class.
"""

from __future__ import annotations

import logging

import redis.exceptions as rx

__all__ = ["OUTAGE", "MISCONFIGURED", "OPERATIONAL", "BUG", "CAUGHT", "TABLE", "classify", "is_outage",
           "reraise_unless_outage"]

log = logging.getLogger("highload.outages")

OUTAGE, MISCONFIGURED, OPERATIONAL, BUG = "outage", "misconfigured", "operational", "bug"

#: What a guard catches before asking :func:`is_outage` (every redis-py error and socket errors).
CAUGHT: tuple[type[BaseException], ...] = (rx.RedisError, rx.RedisClusterException, OSError)

#: Checked in order, first match wins: the subclasses of ConnectionError that are not outages
#: come before ConnectionError itself.
TABLE: tuple[tuple[type[BaseException], str], ...] = (
    (rx.AuthenticationError, MISCONFIGURED),
    (rx.AuthorizationError, MISCONFIGURED),
    (rx.AuthenticationWrongNumberOfArgsError, MISCONFIGURED),
    (rx.NoPermissionError, MISCONFIGURED),
    (rx.BusyLoadingError, OUTAGE),
    (rx.ConnectionError, OUTAGE),
    (rx.TimeoutError, OUTAGE),
    (rx.TryAgainError, OUTAGE),
    (rx.ClusterDownError, OUTAGE),
    (rx.RedisClusterUnreachableError, OUTAGE),
    (rx.ReadOnlyError, OPERATIONAL),
    (rx.OutOfMemoryError, OPERATIONAL),
    (OSError, OUTAGE),
)

#: The server's error code (first word of an error reply) for errors that reach us as a plain
#: ResponseError, e.g. from redis.call inside a script.
CODES: dict[str, str] = {
    "LOADING": OUTAGE, "TRYAGAIN": OUTAGE, "CLUSTERDOWN": OUTAGE, "MASTERDOWN": OUTAGE,
    "READONLY": OPERATIONAL, "OOM": OPERATIONAL, "NOPERM": MISCONFIGURED, "NOAUTH": MISCONFIGURED,
    "WRONGPASS": MISCONFIGURED,
}

_logged: set[type[BaseException]] = set()


def classify(exc: BaseException) -> str:
    """:data:`OUTAGE`, :data:`MISCONFIGURED`, :data:`OPERATIONAL` or :data:`BUG` for ``exc``."""
    for cls, kind in TABLE:
        if isinstance(exc, cls):
            return kind
    if isinstance(exc, rx.ResponseError) and exc.args:
        message = str(exc.args[0])
        # inside a script: "Error running script ... : READONLY ..." keeps the code after the colon
        for word in (message.split(" ", 1)[0], *(part.split(" ", 1)[0] for part in message.split(": ")[1:])):
            kind = CODES.get(word.strip("-"))
            if kind is not None:
                return kind
    return BUG


def is_outage(exc: BaseException) -> bool:
    """True only when fail open/closed applies to ``exc``; logs an operational error once per type."""
    kind = classify(exc)
    if kind == OPERATIONAL and type(exc) not in _logged:
        _logged.add(type(exc))
        log.error("Redis refused a write (%s: %s): raising; this is not an outage", type(exc).__name__, exc)
    return kind == OUTAGE


def reraise_unless_outage(exc: BaseException) -> None:
    """Inside ``except CAUGHT as exc:`` — re-raise ``exc`` unless it is an outage."""
    if not is_outage(exc):
        raise exc
