"""Who is the client? The socket peer, unless that peer is a proxy you trust.

``X-Forwarded-For`` is a request header: any client can send one. Only a proxy you run, that
*overwrites* the header with the address it saw (the generated nginx config of
:mod:`highload.nginx` and the embedded proxy of :mod:`highload.cluster.proxy` both do), makes it
worth reading. So the rule is: take the socket peer; if, and only if, that peer is one of the
``trusted_proxies`` (addresses or networks), walk ``X-Forwarded-For`` from the right, skipping
trusted hops, and take the first address that is not a trusted proxy.

uvicorn applies the same rule before your app sees the request, trusting ``127.0.0.1`` unless
told otherwise, so run it with the same list: :func:`uvicorn_options` gives the arguments
(``--forwarded-allow-ips`` on the command line), and with no trusted proxy it turns uvicorn's
proxy headers off.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["TrustedProxies", "ClientFromProxy", "uvicorn_options"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_VERDICTS = 4096  # hosts whose verdict TrustedProxies remembers (then it starts over)


class TrustedProxies:
    """A set of proxy addresses/networks (``"127.0.0.1"``, ``"10.0.0.0/8"``, ``"::1"``).

    ``TrustedProxies(())`` trusts nobody: the client is always the socket peer.
    Bad entries are refused here, naming ``trusted_proxies``.
    """

    __slots__ = ("networks", "_texts", "_verdicts")

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        if isinstance(trusted_proxies, str):
            raise TypeError(f"trusted_proxies must be a list of addresses or networks, got the string "
                            f"{trusted_proxies!r}: write ({trusted_proxies!r},)")
        networks: list[_Network] = []
        for entry in trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except (TypeError, ValueError):
                raise ValueError(f"trusted_proxies must hold IP addresses or networks, got {entry!r}") from None
        self.networks = tuple(networks)
        self._texts = tuple(str(n.network_address) if n.num_addresses == 1 else str(n) for n in networks)
        # host text -> trusted?: parsing an address and testing it against each network is ~140
        # Python calls per request behind a proxy (peer plus forwarded hops), while a service sees
        # few distinct proxies. Bounded, as forwarded hops are whatever a client writes.
        self._verdicts: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({list(self._texts)!r})"

    def __iter__(self):
        return iter(self._texts)

    def trusts(self, host: str | None) -> bool:
        if not host or not self.networks:
            return False
        verdict = self._verdicts.get(host)
        if verdict is None:
            verdict = self._match(host)
            if len(self._verdicts) >= _VERDICTS:
                self._verdicts.clear()
            self._verdicts[host] = verdict
        return verdict

    def _match(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a name or garbage is nobody we trust
        return any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Iterable[str]) -> str | None:
        """The client's address, given the socket ``peer`` and every ``X-Forwarded-For`` value."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        # Every hop is a trusted proxy (say, a client on the proxy's own host): the leftmost one.
        return hops[0] if hops else peer

    def resolve_scope(self, scope) -> str | None:
        """:meth:`client` for an ASGI ``scope``."""
        peer = scope.get("client")
        host = peer[0] if peer else None
        if not self.trusts(host):
            return host
        values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
        return self.client(host, values)


    def client_scope(self, scope):
        """``scope`` itself, or a copy whose ``client`` is the real client when the peer is trusted."""
        if not self.networks:
            return scope
        host = self.resolve_scope(scope)
        peer = scope.get("client")
        if host is None or (peer and peer[0] == host):
            return scope
        return {**scope, "client": (host, 0)}  # the client's port is not forwarded: 0


class ClientFromProxy:
    """Pure ASGI middleware: ``scope["client"]`` becomes the client a trusted proxy reported, so
    everything behind it (logs, limits) sees the real client; other peers stay as they are."""

    def __init__(self, app, trusted_proxies: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted_proxies)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            scope = self.trusted.client_scope(scope)
        await self.app(scope, receive, send)


def uvicorn_options(trusted_proxies: Iterable[str] | TrustedProxies = ()) -> dict:
    """``uvicorn.run`` keyword arguments that trust exactly ``trusted_proxies``.

    uvicorn trusts ``X-Forwarded-For`` from ``127.0.0.1`` by default, so anyone on the host
    could claim any address; with no trusted proxy this turns proxy headers off.
    """
    trusted = trusted_proxies if isinstance(trusted_proxies, TrustedProxies) else TrustedProxies(trusted_proxies)
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted)}
