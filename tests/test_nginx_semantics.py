"""What real nginx does with a failed request, as lesson 09 states it.

- A POST that reached a failing upstream is not passed to the next server (nginx >= 1.9.13)
  unless ``proxy_next_upstream`` lists ``non_idempotent``; a GET is. Counted by the upstreams'
  own request counters, not by timing.
- Behind ``proxy_pass`` the client gets an HTTP status for a dead upstream: 502 for a refused
  connection, 504 for a read timeout. Only a client library talking to the upstream directly
  sees "no status" (an exception).

"One trial request per ``fail_timeout``" depends on timing, so it is a live demo in the lesson,
not a test here.
"""

from __future__ import annotations

import contextlib

import httpx
import pytest

from highload.lab.flaky_upstream import run_flaky
from highload.nginx import find_nginx, run_nginx, upstream_config
from highload.processes import free_port

pytestmark = pytest.mark.skipif(find_nginx() is None,
                                reason="nginx is not installed (apt-get install nginx)")

REQUESTS = 4


@pytest.fixture
def broken_and_healthy():
    """A primary that answers every request with 500, and a healthy one."""
    with contextlib.ExitStack() as stack:
        broken = stack.enter_context(run_flaky(name="broken", failure_rate=1.0))
        healthy = stack.enter_context(run_flaky(name="healthy"))
        yield broken, healthy


def _hits(server) -> int:
    return httpx.get(f"{server.url}/control", timeout=10).json()["requests"]


def _send(servers, method: str, next_upstream: str) -> list[int]:
    # max_fails=0: never mark the broken server down, so round robin keeps sending it every
    # other request and each of those shows whether nginx passed it on.
    conf = upstream_config([s.address for s in servers], listen_port=free_port(), max_fails=0,
                           next_upstream=next_upstream, next_upstream_tries=2)
    with run_nginx(conf) as nginx, httpx.Client(base_url=nginx.url, timeout=10) as http:
        return [http.request(method, "/").status_code for _ in range(REQUESTS)]


def test_a_post_that_reached_a_failing_upstream_is_not_passed_on(broken_and_healthy):
    statuses = _send(broken_and_healthy, "POST", "error timeout http_500")
    broken, healthy = broken_and_healthy
    assert sorted(statuses) == [200, 200, 500, 500], statuses
    assert (_hits(broken), _hits(healthy)) == (2, 2), "each POST reached exactly one upstream"


def test_non_idempotent_lets_nginx_pass_a_post_on(broken_and_healthy):
    statuses = _send(broken_and_healthy, "POST", "error timeout http_500 non_idempotent")
    broken, healthy = broken_and_healthy
    assert statuses == [200] * REQUESTS
    assert (_hits(broken), _hits(healthy)) == (2, 4), "the 2 POSTs that failed were sent again"


def test_a_get_to_a_failing_upstream_is_passed_on(broken_and_healthy):
    statuses = _send(broken_and_healthy, "GET", "error timeout http_500")
    broken, healthy = broken_and_healthy
    assert statuses == [200] * REQUESTS
    assert (_hits(broken), _hits(healthy)) == (2, 4)


def test_a_refused_upstream_gives_the_client_502():
    nobody = f"127.0.0.1:{free_port()}"          # nothing listens here: connection refused
    conf = upstream_config([nobody], listen_port=free_port(), connect_timeout=1)
    with run_nginx(conf) as nginx:
        response = httpx.get(nginx.url, timeout=10)
    assert response.status_code == 502
    assert response.headers["X-Upstream-Status"] == "502"


def test_an_upstream_that_never_answers_in_time_gives_the_client_504():
    # The upstream answers after 3 s; nginx stops reading after 0.5 s. The margin is wide on
    # purpose: a slower machine only makes the upstream later.
    with run_flaky(name="slow", latency=3.0) as slow:
        conf = upstream_config([slow.address], listen_port=free_port(), read_timeout=0.5)
        with run_nginx(conf) as nginx:
            response = httpx.get(nginx.url, timeout=10)
    assert response.status_code == 504


def test_a_client_library_sees_no_status_for_a_refused_connection():
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{free_port()}/", timeout=2)
