"""Lesson 09's live nginx runs: real upstream processes behind a real nginx, killed on cue.

* :func:`failover_drill`: two primaries and a backup; 20 requests, kill A, 20 more, kill B, 20
  more. Who answered each request, with what status, and whether nginx had to pass it on.
* :func:`trial_times`: one upstream that fails every request, one healthy; a steady stream of
  requests shows when nginx sends the failed server a trial request again.

Both need the ``nginx`` binary and the ``web`` extra; every process they start is stopped
before they return.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter

from highload.lab.flaky_upstream import run_flaky
from highload.nginx import run_nginx, upstream_config
from highload.processes import free_port

__all__ = ["failover_drill", "trial_times"]


def _send(http, n: int) -> Counter:
    # n requests: count (status, which server answered, whether nginx had to pass it on)
    seen: Counter = Counter()
    for _ in range(n):
        r = http.get("/")
        passed_on = "passed on" if "," in r.headers["X-Upstream-Addr"] else "first try"
        seen[(r.status_code, r.json()["served_by"], passed_on)] += 1
    return seen


def _warning(line: str) -> str:
    # "... [warn] 1#1: *2 upstream server temporarily disabled while connecting to upstream,
    # client: ..., upstream: "http://127.0.0.1:8001/", ..." -> the message and the upstream, in
    # whole words.
    message = line.split("[warn]", 1)[1].split(": ", 1)[1].split(", client:")[0]
    message = message.split(" ", 1)[1] if message.startswith("*") else message
    upstream = line.split('upstream: "', 1)[1].split('"')[0] if 'upstream: "' in line else "?"
    return f"{message} ({upstream})"


def failover_drill(requests: int = 20, *, max_fails: int = 3,
                   fail_timeout: float = 30) -> tuple[dict[str, Counter], list[str]]:
    """Run the kill-A-then-B drill; return the outcomes per phase and nginx's "disabled" lines."""
    import httpx

    phases: dict[str, Counter] = {}
    with contextlib.ExitStack() as stack:        # every process stops when this block ends
        a, b, spare = (stack.enter_context(run_flaky(name=n)) for n in ("A", "B", "backup"))
        conf = upstream_config([a.address, b.address], [spare.address], listen_port=free_port(),
                               max_fails=max_fails, fail_timeout=fail_timeout, connect_timeout=1)
        nginx = stack.enter_context(run_nginx(conf))
        http = stack.enter_context(httpx.Client(base_url=nginx.url, timeout=10))
        phases["both up"] = _send(http, requests)
        a.kill()
        phases["A killed"] = _send(http, requests)
        b.kill()
        phases["B killed"] = _send(http, requests)
        disabled = [_warning(line) for line in nginx.error_log().splitlines() if "disabled" in line]
    return phases, disabled


def trial_times(fail_timeout: float = 2, seconds: float = 7, interval: float = 0.02) -> list[float]:
    """Seconds (from the first request) at which a server that fails every request was sent one.

    ``max_fails=1``: its first failure takes it out; a GET every ``interval`` s for ``seconds``
    shows each trial nginx lets through afterwards. Each failed trial is passed on to the
    healthy server, so every client request still gets 200.
    """
    import httpx

    with contextlib.ExitStack() as stack:
        broken = stack.enter_context(run_flaky(name="broken", failure_rate=1.0))
        healthy = stack.enter_context(run_flaky(name="healthy"))
        conf = upstream_config([broken.address, healthy.address], listen_port=free_port(),
                               max_fails=1, fail_timeout=fail_timeout,
                               next_upstream="error timeout http_500")
        nginx = stack.enter_context(run_nginx(conf))
        http = stack.enter_context(httpx.Client(base_url=nginx.url, timeout=10))
        hits, start = [], time.monotonic()
        while (now := time.monotonic() - start) < seconds:
            r = http.get("/")
            if r.status_code != 200:
                raise RuntimeError(f"expected every request to be answered 200, got {r.status_code}")
            if broken.address in r.headers["X-Upstream-Addr"]:
                hits.append(round(now, 2))
            time.sleep(interval)
    return hits
