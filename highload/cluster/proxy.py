"""The embedded load balancer: a teaching fallback for machines without nginx.

A small asyncio reverse proxy (an ASGI app under uvicorn, forwarding with httpx) whose choices
come from :mod:`highload.balancing`: the algorithm picks a server, and a
:class:`~highload.balancing.PassiveHealth` with nginx's ``max_fails``/``fail_timeout`` rules
takes a server out after it fails. Like nginx's ``proxy_next_upstream error timeout``, a request
that cannot reach a server is tried on the next one; a request that reached a server and timed
out is retried only if its method is idempotent (nginx's ``non_idempotent`` default).

Like the generated nginx config, it overwrites ``X-Forwarded-For`` and ``X-Real-IP`` with the
client's socket address, so an upstream that trusts it learns the real client.

Every response says where it went: ``X-Upstream-Addr`` lists the servers tried, as nginx's
``$upstream_addr`` does, and ``X-Balancer`` says this is the fallback. Use nginx for anything
real: it is faster, and it is what production runs. ``python -m highload.cluster.proxy``
serves one.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from highload import balancing

__all__ = ["proxy_app", "LABEL", "main"]

LABEL = "highload embedded proxy (teaching fallback; install nginx for the real balancer)"

#: Not forwarded in either direction: they describe one hop, not the message (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length"})
#: What a client could use to claim another address: dropped, then set from the socket peer.
CLIENT_ADDRESS_HEADERS = frozenset({"x-forwarded-for", "x-real-ip", "forwarded"})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


def _balancer(balance: str, servers: list[str], max_fails: int, fail_timeout: float):
    algorithm = {"round_robin": balancing.RoundRobin, "least_conn": balancing.LeastConnections,
                 "ip_hash": balancing.ConsistentHash, "cookie": balancing.ConsistentHash}[balance]
    health = balancing.PassiveHealth(servers, max_fails=max_fails, fail_timeout=fail_timeout)
    return balancing.HealthyBalancer(algorithm(servers), health)


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""  # nginx hashes the empty string too: every cookieless client lands on one server


def proxy_app(upstreams: Sequence[str], *, balance: str = "round_robin", max_fails: int = 1,
              fail_timeout: float = 10.0, sticky_cookie: str = "session", read_timeout: float = 10.0):
    """An ASGI reverse proxy to ``upstreams`` (``host:port`` strings)."""
    import httpx
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    from highload.nginx import BALANCE_METHODS

    servers = list(upstreams)
    if not servers or isinstance(upstreams, str):
        raise ValueError(f"upstreams must be a non-empty list of 'host:port', got {upstreams!r}")
    if balance not in BALANCE_METHODS:
        raise ValueError(f"balance must be one of {BALANCE_METHODS}, got {balance!r}")
    lb = _balancer(balance, servers, max_fails, fail_timeout)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    client = httpx.AsyncClient(timeout=httpx.Timeout(read_timeout, connect=2.0), limits=limits)

    hashed = balance in ("ip_hash", "cookie")

    def choose(request: Request, tried: list[str]) -> str | None:
        among = [s for s in lb.health.available() if s not in tried]
        if not among:
            return None
        if not hashed:
            return lb.balancer.acquire(among=among)
        if balance == "ip_hash":
            key = request.client.host if request.client else ""
        else:
            key = _cookie(request.headers.get("cookie", ""), sticky_cookie)
        return lb.balancer.pick(key, among=among)

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await receive()  # lifespan.startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            await client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        request = Request(scope, receive)
        body = await request.body()
        peer = request.client.host if request.client else ""
        headers = [(k, v) for k, v in request.headers.items()
                   if k not in HOP_BY_HOP and k not in CLIENT_ADDRESS_HEADERS]
        headers += [("x-forwarded-for", peer), ("x-real-ip", peer)]  # overwritten, as nginx does
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        tried: list[str] = []
        while (server := choose(request, tried)) is not None:
            tried.append(server)
            try:
                upstream = await client.request(request.method, f"http://{server}{path}",
                                                 headers=headers, content=body)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                lb.report(server, ok=False)  # never reached: safe to try the next server
                continue
            except httpx.TimeoutException:
                lb.report(server, ok=False)
                if request.method in IDEMPOTENT:
                    continue
                break
            finally:
                if not hashed:
                    lb.release(server)
            lb.report(server, ok=True)
            response = Response(upstream.content, status_code=upstream.status_code,
                                headers={k: v for k, v in upstream.headers.items() if k not in HOP_BY_HOP})
            response.headers["x-upstream-addr"] = ", ".join(tried)
            response.headers["x-balancer"] = "embedded"
            await response(scope, receive, send)
            return
        response = JSONResponse({"detail": {"error": "bad_gateway",
                                            "message": f"no upstream answered (tried {tried or 'none'})"}},
                                status_code=502)
        response.headers["x-upstream-addr"] = ", ".join(tried)
        response.headers["x-balancer"] = "embedded"
        await response(scope, receive, send)

    app.balancer = lb  # for tests and lessons: which servers are up
    return app


def main(argv: Sequence[str] | None = None) -> None:
    from highload.nginx import BALANCE_METHODS

    parser = argparse.ArgumentParser(prog="python -m highload.cluster.proxy", description=LABEL)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", action="append", required=True, help="host:port (repeat)")
    parser.add_argument("--balance", choices=BALANCE_METHODS, default="round_robin")
    parser.add_argument("--max-fails", type=int, default=1)
    parser.add_argument("--fail-timeout", type=float, default=10.0)
    parser.add_argument("--sticky-cookie", default="session")
    args = parser.parse_args(argv)
    import uvicorn

    app = proxy_app(args.upstream, balance=args.balance, max_fails=args.max_fails,
                    fail_timeout=args.fail_timeout, sticky_cookie=args.sticky_cookie)
    # The upstream already sent Date and Server; uvicorn adding its own would duplicate them.
    # proxy_headers=False: the proxy's client is its socket peer, whatever headers it sends.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False,
                date_header=False, proxy_headers=False)


if __name__ == "__main__":
    main()
