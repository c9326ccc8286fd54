"""The session token travels with the client (X-Session-LSN header and/or cookie): two app
instances share one simulated replica set, and any instance honours a token another one issued.
Hostile tokens are a 400 with a JSON body, never a 500.
"""

# No `from __future__ import annotations` here: FastAPI resolves a string annotation in the
# module's globals, and the handlers' `DB` alias is local to make_app.
from typing import Annotated

import pytest

pytest.importorskip("fastapi")

from fastapi import Depends, FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from highload.replication import ReadRouter, SessionToken, SimulatedReplicaSet  # noqa: E402
from highload.replication.fastapi import HEADER, MAX_TOKEN, BoundRouter, SessionLSN, parse_token  # noqa: E402


def make_app(rs: SimulatedReplicaSet, **options) -> tuple[FastAPI, ReadRouter]:
    """One app instance: its own router (its own counters), the shared replica set."""
    router = ReadRouter(rs, policy=SessionToken())
    DB = Annotated[BoundRouter, Depends(SessionLSN(router, **options))]
    app = FastAPI()

    @app.post("/profile/{user}")
    def save(user: str, bio: str, db: DB):
        return {"lsn": db.write(f"profile:{user}", bio)}

    @app.get("/profile/{user}")
    def show(user: str, db: DB):
        value, target, stale = db.read_detail(f"profile:{user}")
        return {"bio": value, "served_by": target}

    @app.get("/twice/{user}")
    def twice(user: str, db: DB):
        return {"bios": [db.read(f"profile:{user}"), db.read(f"profile:{user}")]}

    return app, router


@pytest.fixture
def replicas():
    rs = SimulatedReplicaSet(lags=[1.0, 1.0])
    rs.primary.write("profile:alice", "v1")
    rs.clock.advance(1.0)                                  # both replicas have v1
    return rs


@pytest.fixture
def two_instances(replicas):
    (a, router_a), (b, router_b) = make_app(replicas), make_app(replicas)
    return TestClient(a, raise_server_exceptions=False), TestClient(b, raise_server_exceptions=False), \
        router_a, router_b


def test_a_write_on_one_instance_is_read_back_on_the_other(two_instances, replicas):
    a, b, router_a, router_b = two_instances
    saved = a.post("/profile/alice", params={"bio": "v2"})
    assert saved.status_code == 200
    token = saved.headers[HEADER]
    assert int(token) == saved.json()["lsn"] == replicas.primary.lsn
    # The replicas are 1 s behind: with the token, instance b must not serve v1.
    shown = b.get("/profile/alice", headers={HEADER: token})
    assert shown.json() == {"bio": "v2", "served_by": "primary"}
    assert int(shown.headers[HEADER]) >= int(token)
    assert router_b.stats["stale_reads"] == 0 and router_b.stats["primary_reads"] == 1


def test_without_the_token_the_other_instance_serves_the_old_profile(two_instances):
    a, b, _, router_b = two_instances
    a.post("/profile/alice", params={"bio": "v2"})
    shown = b.get("/profile/alice")                       # the client dropped the header
    assert shown.json()["bio"] == "v1" and shown.json()["served_by"].startswith("replica")
    assert shown.headers[HEADER] != "0"                   # it learns what it saw (monotonic reads)


def test_once_a_replica_has_caught_up_the_token_lets_it_serve(two_instances, replicas):
    a, b, _, router_b = two_instances
    token = a.post("/profile/alice", params={"bio": "v2"}).headers[HEADER]
    replicas.clock.advance(1.0)
    shown = b.get("/profile/alice", headers={HEADER: token})
    assert shown.json()["bio"] == "v2" and shown.json()["served_by"].startswith("replica")


def test_a_token_never_goes_down(two_instances, replicas):
    _, b, _, _ = two_instances
    high = str(replicas.primary.lsn + 5)                   # past the primary: only the primary qualifies
    shown = b.get("/profile/alice", headers={HEADER: high})
    assert shown.json()["served_by"] == "primary" and shown.headers[HEADER] == high


def test_several_reads_in_one_request_send_one_header_and_one_cookie(replicas):
    app, _ = make_app(replicas, cookie="session_lsn")
    client = TestClient(app)
    replicas.primary.write("profile:bob", "x")             # replicas behind: reads learn positions
    response = client.get("/twice/bob")
    assert len(response.headers.get_list(HEADER)) == 1
    assert len([c for c in response.headers.get_list("set-cookie") if c.startswith("session_lsn=")]) == 1


def test_the_cookie_carries_the_token_between_instances(replicas):
    (a, _), (b, router_b) = make_app(replicas, header=None, cookie="session_lsn"), \
        make_app(replicas, header=None, cookie="session_lsn")
    saved = TestClient(a).post("/profile/alice", params={"bio": "v2"})
    cookie = saved.cookies["session_lsn"]
    assert "httponly" in saved.headers["set-cookie"].lower()
    shown = TestClient(b, cookies={"session_lsn": cookie}).get("/profile/alice")
    assert shown.json()["bio"] == "v2" and HEADER not in shown.headers
    assert router_b.stats["stale_reads"] == 0


def test_header_and_cookie_together_take_the_higher(replicas):
    app, _ = make_app(replicas, cookie="session_lsn")
    client = TestClient(app, cookies={"session_lsn": "40"})
    assert client.get("/profile/alice", headers={HEADER: "7"}).headers[HEADER] == "40"


def test_requests_leave_no_session_state_in_the_router(two_instances):
    a, b, router_a, router_b = two_instances
    for i in range(20):
        a.post("/profile/alice", params={"bio": f"v{i}"})
        b.get("/profile/alice")
    b.get("/profile/alice", headers={HEADER: "-1"})
    # The client holds the token; the instance keeps nothing per request.
    assert router_a._sessions == {} and router_b._sessions == {}
    assert router_a.stats["writes"] == 20 and router_b.stats["primary_reads"] + router_b.stats["replica_reads"] == 20


HOSTILE = ["-1", str(MAX_TOKEN + 1), "9" * 400, "abc", "1e3", "0x10", "+5", "5 5", "1,2", "1.0", "",
           "١٢", "１２"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_header_is_a_400_with_a_json_body(two_instances, value):
    _, b, _, router_b = two_instances
    response = b.get("/profile/alice", headers={HEADER: value.encode("utf-8")})
    assert response.status_code == 400
    assert response.json()["detail"]["error"] == "invalid_session_lsn"
    assert HEADER in response.json()["detail"]["message"]
    assert router_b.stats["primary_reads"] + router_b.stats["replica_reads"] == 0


def test_a_repeated_header_is_a_400(two_instances):
    _, b, _, _ = two_instances
    response = b.get("/profile/alice", headers=[(HEADER, "1"), (HEADER, "2")])
    assert response.status_code == 400 and "once" in response.json()["detail"]["message"]


def test_a_hostile_cookie_is_a_400_that_also_expires_it(replicas):
    app, _ = make_app(replicas, cookie="session_lsn")
    response = TestClient(app, cookies={"session_lsn": "-3"}, raise_server_exceptions=False).get("/profile/alice")
    assert response.status_code == 400 and response.json()["detail"]["error"] == "invalid_session_lsn"
    assert "session_lsn=;" in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]


def test_a_bad_header_does_not_expire_a_good_cookie(replicas):
    app, _ = make_app(replicas, cookie="session_lsn")
    client = TestClient(app, cookies={"session_lsn": "3"}, raise_server_exceptions=False)
    response = client.get("/profile/alice", headers={HEADER: "nope"})
    assert response.status_code == 400 and "set-cookie" not in response.headers


@pytest.mark.parametrize(("text", "token"), [("0", 0), ("007", 7), (str(MAX_TOKEN), MAX_TOKEN)])
def test_parse_token_accepts_whole_numbers_up_to_2_to_the_63(text, token):
    assert parse_token(text) == token


def test_session_lsn_refuses_bad_configuration(replicas):
    with pytest.raises(TypeError, match="ReadRouter"):
        SessionLSN(object())
    with pytest.raises(ValueError, match="header or a cookie"):
        SessionLSN(ReadRouter(replicas), header=None, cookie=None)
