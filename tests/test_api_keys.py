"""API keys are identities: a key is looked up before it decides a bucket or a tier.

A client sending a new random key per request must not get a new bucket per request, and a
key that merely *looks* premium must not be premium. Both faces (the ``RateLimit`` dependency
and ``RateLimitMiddleware``) resolve keys the same way.
"""

from __future__ import annotations

import uuid
import warnings

import pytest
from fastapi import Depends, FastAPI

from highload.clock import ManualClock
from highload.ratelimit import RateLimiter, TokenBucketPolicy
from highload.ratelimit.fastapi import APIKeys, Identity, RateLimit, RateLimitMiddleware

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KEYS = {"key-alice": Identity("alice", "free"), "key-bob": Identity("bob", "premium")}


def _app(face: str, **identify_options) -> TestClient:
    clock = ManualClock()
    tiers = {name: RateLimiter(TokenBucketPolicy(cap, 0, name=name), clock=clock)
             for name, cap in (("free", 3), ("premium", 6), ("anonymous", 2))}
    identify = APIKeys(KEYS, **identify_options)
    app = FastAPI()
    if face == "middleware":
        app.add_middleware(RateLimitMiddleware, limiter=tiers, identify=identify)
        deps = []
    else:
        deps = [Depends(RateLimit(tiers, identify=identify))]

    @app.get("/api", dependencies=deps)
    def api():
        return {"ok": True}

    return TestClient(app)


FACES = ["dependency", "middleware"]


def _statuses(client: TestClient, keys) -> list[int]:
    return [client.get("/api", headers={"X-API-Key": k} if k else {}).status_code for k in keys]


@pytest.mark.parametrize("face", FACES)
def test_a_fresh_random_key_per_request_buys_nothing(face):
    client = _app(face, unknown="reject", anonymous_tier="anonymous")
    random_keys = [uuid.uuid4().hex for _ in range(20)]
    assert _statuses(client, random_keys) == [401] * 20, "unknown keys are refused, not given new buckets"
    refused = client.get("/api", headers={"X-API-Key": "made-up"})
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {"detail": {"error": "invalid_api_key",
                                         "message": "The X-API-Key header holds no valid API key."}}
    assert refused.headers["WWW-Authenticate"] == 'ApiKey header="X-API-Key"'
    assert _statuses(client, ["key-alice"] * 4) == [200, 200, 200, 429], "a real key keeps its own limit"


@pytest.mark.parametrize("face", FACES)
def test_unknown_keys_can_be_anonymous_traffic_sharing_the_per_ip_limit(face):
    client = _app(face, unknown="anonymous", anonymous_tier="anonymous")
    random_keys = [uuid.uuid4().hex for _ in range(20)]
    assert _statuses(client, random_keys) == [200, 200] + [429] * 18, \
        "every unknown key lands in the one anonymous bucket of this client's IP"
    assert _statuses(client, [None]) == [429], "and so does a request without a key"
    assert _statuses(client, ["key-bob"]) == [200], "a validated key is not limited with the anonymous traffic"


@pytest.mark.parametrize("face", FACES)
def test_the_tier_comes_from_the_validated_identity_not_the_keys_text(face):
    client = _app(face, unknown="anonymous", anonymous_tier="anonymous")
    assert _statuses(client, ["pro-" + uuid.uuid4().hex for _ in range(3)]) == [200, 200, 429], \
        "a key that looks premium is anonymous until the lookup knows it"
    assert _statuses(client, ["key-bob"] * 7) == [200] * 6 + [429], "bob's record says premium: 6"
    assert _statuses(client, ["key-alice"] * 4) == [200] * 3 + [429], "alice's says free: 3"


@pytest.mark.parametrize("face", FACES)
def test_a_required_key_refuses_missing_and_unknown_keys(face):
    client = _app(face, unknown="anonymous", allow_anonymous=False)
    missing = client.get("/api")
    assert missing.status_code == 401 and missing.json()["detail"]["error"] == "api_key_required"
    assert _statuses(client, ["nope"]) == [401], "an unknown key is no way around a required one"
    assert _statuses(client, ["key-alice"]) == [200]


def test_an_async_lookup_is_awaited():
    async def lookup(key):
        return KEYS.get(key)

    app = FastAPI()
    limit = RateLimit(RateLimiter(TokenBucketPolicy(1, 0)), identify=APIKeys(lookup))

    @app.get("/api", dependencies=[Depends(limit)])
    def api():
        return {"ok": True}

    client = TestClient(app)
    assert _statuses(client, ["key-alice", "key-alice", "key-bob", "other"]) == [200, 429, 200, 401]


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: RateLimit({"free": RateLimiter(TokenBucketPolicy(1, 0))}, identify=APIKeys(KEYS), tier=str),
     TypeError, "identify= replaces key= and tier="),
    (lambda: RateLimit({"free": RateLimiter(TokenBucketPolicy(1, 0))},
                       identify=APIKeys(KEYS, anonymous_tier="guest")),
     ValueError, r"identify.anonymous_tier must name one of the limiters \['free'\], got 'guest'"),
    (lambda: APIKeys(KEYS, unknown="maybe"), ValueError, "unknown must be one of"),
    (lambda: APIKeys({"k": "premium"}), TypeError, "lookup must map API keys to Identity objects"),
    (lambda: APIKeys(42), TypeError, "lookup must be a mapping or a function"),
])
def test_bad_key_configuration_is_a_clear_error(make, error, message):
    with pytest.raises(error, match=message):
        make()
