"""The session token travels with the client: a FastAPI dependency that reads it from the
request and writes it back on the response.

Lesson 02's stateless rule applied to read-your-writes: no app instance keeps a session's log
position. The client sends the highest position it has written or seen (header
``X-Session-LSN``, and/or a cookie), any instance behind the balancer routes its reads by it,
and the response carries the new position back::

    router = ReadRouter(replica_set, policy=SessionToken())
    session_lsn = SessionLSN(router, cookie="session_lsn")

    @app.post("/profile")
    def save(bio: str, db: BoundRouter = Depends(session_lsn)):
        db.write("profile:alice", bio)            # the response says X-Session-LSN: <its position>

    @app.get("/profile")
    def show(db: BoundRouter = Depends(session_lsn)):
        return {"bio": db.read("profile:alice")}  # a replica that has it, else the primary

A token is a whole number from 0 to 2**63; anything else (negative, too big, not ASCII digits,
the header sent twice) is answered 400 with a JSON body, never 500. A client can only hurt
itself with a forged token: one past the primary's position sends its reads to the primary, as
primary-only routing would (with ``SessionToken(max_wait=...)`` each such read first waits).

The token is a log position, not a time: :class:`~highload.replication.TimePinning` keeps its
pin only within one request here. A browser on another origin reads the header only if CORS
lists it in ``Access-Control-Expose-Headers``. Handlers that use a blocking router (Postgres,
Redis) should be plain ``def`` so FastAPI runs them in its thread pool.

Needs the ``web`` extra: ``pip install "highload[web]"``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

try:
    from fastapi import HTTPException, Request, Response
except ImportError as exc:  # pragma: no cover - exercised by the clean-venv wheel test
    raise ImportError('highload.replication.fastapi needs the web extra: pip install "highload[web]"') from exc

from .router import ReadRouter

__all__ = ["SessionLSN", "BoundRouter", "parse_token", "HEADER", "MAX_TOKEN"]

HEADER = "X-Session-LSN"
#: The largest token accepted. Positions are ints that only grow (a WAL byte position on
#: Postgres); a bound keeps a hostile header from turning into a huge int.
MAX_TOKEN = 2**63
# ASCII digits only: str.isdigit() and int() also take '٣' and '１', which no client sends.
_DIGITS = re.compile(r"[0-9]{1,20}")


def parse_token(text: str, source: str = HEADER) -> int:
    """``text`` as a token, or ``ValueError`` saying what a token must be."""
    if not _DIGITS.fullmatch(text) or int(text) > MAX_TOKEN:
        shown = text if len(text) <= 32 else text[:32] + "..."
        raise ValueError(f"{source} must be a whole number from 0 to 2**63, got {shown!r}")
    return int(text)


class BoundRouter:
    """A :class:`~highload.replication.ReadRouter` bound to one request's token: ``read(key)``,
    ``read_detail(key)`` and ``write(key, value)``, with ``token`` the position the response
    will carry back."""

    def __init__(self, router: ReadRouter, session: Any, on_token: Callable[[int], None]) -> None:
        self.router, self._session, self._on_token = router, session, on_token
        self._token = router.token(session)

    @property
    def token(self) -> int:
        return self._token

    def write(self, key, value) -> int:
        lsn = self.router.write(self._session, key, value)
        self._learn()
        return lsn

    def read(self, key) -> Any:
        return self.read_detail(key)[0]

    def read_detail(self, key) -> tuple[Any, str, bool]:
        """``(value, target name, stale)``, as :meth:`ReadRouter.read_detail`."""
        result = self.router.read_detail(self._session, key)
        self._learn()
        return result

    def _learn(self) -> None:
        token = self.router.token(self._session)
        if token != self._token:
            self._token = token
            self._on_token(token)

    def __repr__(self) -> str:
        return f"BoundRouter(token={self._token}, router={self.router!r})"


class SessionLSN:
    """A FastAPI dependency: ``Depends(SessionLSN(router))`` gives the handler a
    :class:`BoundRouter` for the request's token and writes the token back on the response.

    ``header`` (default ``X-Session-LSN``) is read and written; ``cookie`` (a name, default
    none) is read and set too, ``HttpOnly`` and ``SameSite=Lax`` (``secure=True`` adds
    ``Secure``). With both, the higher token wins: a token never goes down.

    Handlers return data (a dict, a model): FastAPI copies a dependency's headers only onto the
    responses it builds. A handler that returns its own ``Response`` sets the header itself,
    from ``BoundRouter.token``.
    """

    def __init__(self, router: ReadRouter, *, header: str | None = HEADER, cookie: str | None = None,
                 secure: bool = False) -> None:
        if not isinstance(router, ReadRouter):
            raise TypeError(f"router must be a ReadRouter, got {router!r}")
        if header is None and cookie is None:
            raise ValueError("SessionLSN needs a header or a cookie (or both) to carry the token")
        self.router, self.header, self.cookie, self.secure = router, header, cookie, secure
        # Requests are sessions of their own: the client holds the token between them.
        self._ids = itertools.count(1)

    def token_from(self, request: Request) -> int:
        """The request's token (0 if it sent none); ``ValueError`` if what it sent is not one."""
        token = 0
        if self.header is not None:
            values = request.headers.getlist(self.header)
            if len(values) > 1:
                raise ValueError(f"send {self.header} once, got it {len(values)} times")
            if values:
                token = parse_token(values[0], self.header)
        if self.cookie is not None and self.cookie in request.cookies:
            try:
                token = max(token, parse_token(request.cookies[self.cookie], f"cookie {self.cookie}"))
            except ValueError as exc:
                raise _BadCookie(str(exc)) from None
        return token

    async def __call__(self, request: Request, response: Response) -> AsyncIterator[BoundRouter]:
        try:
            token = self.token_from(request)
        except ValueError as exc:
            # A bad cookie would fail every later request too: the 400 also expires it.
            headers = self._clear_cookie() if isinstance(exc, _BadCookie) else None
            raise HTTPException(400, detail={"error": "invalid_session_lsn", "message": str(exc)},
                                headers=headers) from None
        session = f"request-{next(self._ids)}"
        self.router.set_token(session, token)
        try:
            self._write_back(response, token)
            yield BoundRouter(self.router, session, lambda t: self._write_back(response, t))
        finally:
            self.router.forget(session)

    def _write_back(self, response: Response, token: int) -> None:
        if self.header is not None:
            response.headers[self.header] = str(token)
        if self.cookie is not None:
            # One Set-Cookie for our cookie: drop the one an earlier read or write of this request set.
            prefix = f"{self.cookie}=".encode("latin-1")
            response.headers.raw[:] = [(k, v) for k, v in response.headers.raw
                                       if not (k == b"set-cookie" and v.startswith(prefix))]
            response.set_cookie(self.cookie, str(token), httponly=True, samesite="lax", secure=self.secure)

    def _clear_cookie(self) -> dict[str, str]:
        secure = "; Secure" if self.secure else ""
        return {"Set-Cookie": f"{self.cookie}=; Max-Age=0; Path=/; HttpOnly; SameSite=lax{secure}"}


class _BadCookie(ValueError):
    pass
