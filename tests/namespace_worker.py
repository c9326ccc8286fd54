"""A process holding limiters and caches on one Redis, driven by JSON lines on stdin (one reply a
line on stdout): what a second app process does, for tests/test_namespaces.py."""

from __future__ import annotations

import json
import sys

import redis

from highload import ratelimit
from highload.cache import CacheAside, RedisBackend, RedisBuffer, WriteBackCache
from highload.clock import ManualClock

LOADERS = {"product": lambda k: {"product": k}, "user": lambda k: {"user": k}}


def main(url: str) -> None:
    client = redis.Redis.from_url(url)
    now = [0.0]
    objects, events, stores = {}, [], {}
    for line in sys.stdin:
        cmd = json.loads(line)
        op, oid = cmd["op"], cmd.get("id")
        reply = None
        if op == "limiter":
            cls, args, kw = cmd["policy"]
            lim = ratelimit.RateLimiter(getattr(ratelimit, cls)(*args, **kw), ratelimit.RedisStorage(client),
                                        clock=lambda: now[0])
            if hasattr(lim, "subscribe"):  # (absent before namespaces: lets the test show the collision)
                lim.subscribe(lambda e: events.append([e.name, e.key, e.namespace]))
            objects[oid] = lim
        elif op == "allow":
            now[0] = cmd["t"]
            reply = objects[oid].allow(cmd["key"])
        elif op == "check":
            now[0] = cmd["t"]
            d = objects[oid].check(cmd["key"])
            reply = [d.allowed, d.remaining]
        elif op == "events":
            reply, events[:] = list(events), []
        elif op == "aside":
            objects[oid] = CacheAside(LOADERS[cmd["loader"]], ttl=60, clock=ManualClock(),
                                      backend=RedisBackend(client, prefix=cmd.get("prefix", "hl:cache:")),
                                      name=cmd["name"])
        elif op == "get":
            reply = objects[oid].get(cmd["key"])
        elif op == "clear":
            objects[oid].clear()
        elif op == "writeback":
            stores[oid] = {}
            objects[oid] = WriteBackCache(stores[oid], 1000, ManualClock(), buffer=RedisBuffer(client),
                                          name=cmd["name"])
        elif op == "write":
            objects[oid].write(cmd["key"], cmd["value"])
        elif op == "flush":
            objects[oid].flush()
            reply = stores[oid]
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
