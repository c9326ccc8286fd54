"""``python -m highload.shop --port 8001 --instance-id A --carts redis``: one shop instance under uvicorn."""

from __future__ import annotations

import argparse

from .settings import CART_KINDS, DEFAULT_CART_TTL, ShopSettings, default_instance_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m highload.shop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--instance-id", default=None, help="shown in X-Served-By (default: host-pid)")
    parser.add_argument("--carts", choices=CART_KINDS, default="memory")
    parser.add_argument("--redis-url", default=None, help="default: REDIS_URL, else embedded fakeredis")
    parser.add_argument("--cart-ttl", type=float, default=DEFAULT_CART_TTL, help="seconds")
    parser.add_argument("--max-in-flight", type=int, default=None,
                        help="admit at most this many requests at once (a fixed capacity)")
    parser.add_argument("--io-delay", type=float, default=0.0,
                        help="seconds of simulated I/O per admitted request (needs --max-in-flight)")
    parser.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                        help="a proxy (address or network) whose X-Forwarded-For names the client "
                             "(repeat; default: none, the client is the socket peer)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    try:
        import uvicorn

        from highload.proxies import uvicorn_options

        from .app import create_app
    except ImportError:
        parser.exit(2, 'highload.shop needs the web extra: pip install "highload[web]"\n')
    try:
        settings = ShopSettings(instance_id=args.instance_id or default_instance_id(), carts=args.carts,
                                redis_url=args.redis_url, cart_ttl=args.cart_ttl,
                                max_in_flight=args.max_in_flight, io_delay=args.io_delay,
                                trusted_proxies=tuple(args.trusted_proxy))
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    # uvicorn must trust the same proxies as the app (by default it trusts 127.0.0.1).
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                **uvicorn_options(settings.trusted_proxies))


if __name__ == "__main__":
    main()
