"""``python -m highload.cluster.embedded_redis --port P``: a fakeredis TCP server as its own process.

The cluster's fallback when redis-server is not installed. A ``fakeredis.FakeRedis`` lives in
one process's memory, so several shop processes cannot share it; a ``TcpFakeServer`` speaks
the Redis protocol on a loopback port, so they can. It is a teaching stand-in: single-threaded
Python, no persistence, no replication. Install redis-server for the real thing.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m highload.cluster.embedded_redis", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", args.port), server_type="redis")
    server.serve_forever()


if __name__ == "__main__":
    main()
