"""API keys are identities, not strings: validate the key, then limit the account it belongs to.

Keying a limit on the raw ``X-API-Key`` value lets a client mint a fresh bucket per request by
sending a new random key each time, and a tier rule on the key's text (``startswith("pro-")``)
grants premium to anyone who types it. :class:`APIKeys` looks the key up first: a known key
becomes an :class:`Identity` (an account id and its tier, both from your records); an unknown
key is refused with 401, or treated as anonymous traffic limited per client IP, as you choose.

No web framework is imported here: a request only needs ``.headers`` and ``.client``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

__all__ = ["Identity", "APIKeys", "InvalidAPIKey", "UNKNOWN_KEY_CHOICES"]

UNKNOWN_KEY_CHOICES = ("reject", "anonymous")


@dataclass(frozen=True)
class Identity:
    """Who is calling: ``id`` (an account or user id) and the ``tier`` of their plan.

    ``key`` is what the limiter counts on: ``"id:<id>"`` for a validated key, ``"ip:<address>"``
    for anonymous traffic, so the two can never share a bucket.
    """

    id: str
    tier: str | None = None
    anonymous: bool = False

    @property
    def key(self) -> str:
        return f"ip:{self.id}" if self.anonymous else f"id:{self.id}"


class InvalidAPIKey(Exception):
    """The request carried an API key that the lookup does not know (or none, when one is required)."""

    def __init__(self, header: str, missing: bool) -> None:
        self.header, self.missing = header, missing
        super().__init__(f"{'missing' if missing else 'unknown'} {header}")

    def body(self) -> dict:
        if self.missing:
            return {"error": "api_key_required", "message": f"Send your API key in the {self.header} header."}
        return {"error": "invalid_api_key", "message": f"The {self.header} header holds no valid API key."}


Lookup = Mapping[str, Identity] | Callable[[str], "Identity | None | Awaitable[Identity | None]"]


class APIKeys:
    """Resolve a request to an :class:`Identity` by validating its API key.

    ``lookup`` is a mapping from key to :class:`Identity` (fine for a lesson or a fixed set of
    internal clients) or a function, plain or ``async``, returning the :class:`Identity` for a key
    or None when the key is unknown (in production: a database or cache lookup of the key's hash;
    make it ``async`` if it does I/O, so it never blocks the event loop).

    ``unknown="reject"`` answers an unknown key with 401 and a JSON body; ``"anonymous"`` limits
    it like a request without a key. Requests without a key are anonymous when
    ``allow_anonymous`` (limited per client IP, on ``anonymous_tier``), else 401.
    """

    def __init__(self, lookup: Lookup, *, header: str = "X-API-Key", unknown: str = "reject",
                 allow_anonymous: bool = True, anonymous_tier: str | None = None) -> None:
        if isinstance(lookup, Mapping):
            bad = [k for k, v in lookup.items() if not isinstance(v, Identity)]
            if bad:
                raise TypeError(f"lookup must map API keys to Identity objects, got {lookup[bad[0]]!r} for {bad[0]!r}")
        elif not callable(lookup):
            raise TypeError(f"lookup must be a mapping or a function of the key, got {lookup!r}")
        if unknown not in UNKNOWN_KEY_CHOICES:
            raise ValueError(f"unknown must be one of {UNKNOWN_KEY_CHOICES}, got {unknown!r}")
        if not isinstance(header, str) or not header:
            raise ValueError(f"header must be a header name, got {header!r}")
        self.lookup, self.header, self.unknown = lookup, header, unknown
        self.allow_anonymous, self.anonymous_tier = allow_anonymous, anonymous_tier

    def __repr__(self) -> str:
        return f"APIKeys(header={self.header!r}, unknown={self.unknown!r}, anonymous_tier={self.anonymous_tier!r})"

    async def _find(self, key: str) -> Identity | None:
        lookup = self.lookup
        found = lookup.get(key) if isinstance(lookup, Mapping) else lookup(key)
        if inspect.isawaitable(found):
            found = await found
        if found is not None and not isinstance(found, Identity):
            raise TypeError(f"lookup must return an Identity or None, got {found!r}")
        return found

    def _anonymous(self, request, missing: bool) -> Identity:
        if not self.allow_anonymous:  # an unknown key must not be a way around a required one
            raise InvalidAPIKey(self.header, missing=missing)
        host = request.client.host if request.client else "unknown"
        return Identity(host, self.anonymous_tier, anonymous=True)

    async def __call__(self, request) -> Identity:
        """The caller's identity; raises :class:`InvalidAPIKey` when the key must be refused."""
        key = request.headers.get(self.header)
        if not key:
            return self._anonymous(request, missing=True)
        found = await self._find(key)
        if found is not None:
            return found
        if self.unknown == "reject":
            raise InvalidAPIKey(self.header, missing=False)
        return self._anonymous(request, missing=False)
