"""Retry policies, the retry budget, backoff delays, bulkheads, fallback, failover and composition."""

from __future__ import annotations

import asyncio
import math
import random
import threading

import pytest

from highload.clock import ManualClock
from highload.resilience import (
    AsyncBulkhead,
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    Failover,
    Fallback,
    Retry,
    RetryBudget,
    backoff_delays,
    is_transient,
    resilient,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
    with_timeout,
)


class Flaky:
    """Fails ``failures`` times with ``error``, then returns "ok"; records when it was called."""

    def __init__(self, clock, failures, error=ConnectionError):
        self.clock, self.failures, self.error, self.calls = clock, failures, error, []

    def __call__(self):
        self.calls.append(self.clock())
        if len(self.calls) <= self.failures:
            raise self.error("transient") if isinstance(self.error, type) else self.error
        return "ok"


def test_retries_transient_errors_with_the_waits_it_was_given():
    clock = ManualClock()
    flaky = Flaky(clock, failures=2)
    retry = Retry(stop=stop_after_attempt(3), wait=wait_exponential(base=1, jitter="none"), clock=clock)
    assert retry.call(flaky) == "ok"
    assert flaky.calls == [0, 1, 3], "waits of 1 then 2 seconds, on the injected clock"


def test_gives_up_after_the_last_attempt_with_the_real_error():
    clock = ManualClock()
    flaky = Flaky(clock, failures=5)
    with pytest.raises(ConnectionError, match="transient"):
        Retry(stop=stop_after_attempt(3), wait=wait_fixed(1), clock=clock).call(flaky)
    assert len(flaky.calls) == 3


def test_never_retries_user_errors():
    class BadRequest(Exception):
        status_code = 400

    clock = ManualClock()
    for error in (ValueError("bad input"), BadRequest()):
        flaky = Flaky(clock, failures=1, error=error)
        with pytest.raises(type(error)):
            Retry(clock=clock).call(flaky)
        assert len(flaky.calls) == 1


@pytest.mark.parametrize(("status", "transient"), [(429, True), (500, True), (503, True), (404, False), (409, False)])
def test_transient_statuses(status, transient):
    error = Exception()
    error.status_code = status
    assert is_transient(error) is transient


def test_time_box_stops_before_sleeping_past_it():
    clock = ManualClock()
    flaky = Flaky(clock, failures=10)
    retry = Retry(stop=stop_after_attempt(10) | stop_after_delay(5), wait=wait_fixed(2), clock=clock)
    with pytest.raises(ConnectionError):
        retry.call(flaky)
    assert flaky.calls == [0, 2, 4], "a third wait would end at 6 s, past the 5 s box"


def test_honours_retry_after_and_calls_before_sleep():
    class Throttled(Exception):
        status_code = 503
        retry_after = 7.0

    clock = ManualClock()
    flaky = Flaky(clock, failures=1, error=Throttled())
    seen = []
    retry = Retry(wait=wait_fixed(1), clock=clock, before_sleep=lambda s: seen.append((s.attempt, s.delay)))
    assert retry.call(flaky) == "ok"
    assert flaky.calls == [0, 7.0] and seen == [(1, 7.0)]


def test_retry_budget_stops_a_retry_storm():
    clock = ManualClock()
    budget = RetryBudget(ratio=0.1, min_per_second=0, window=10, clock=clock)
    retry = Retry(stop=stop_after_attempt(2), wait=wait_fixed(0), budget=budget, clock=clock)
    attempts = 0

    def down():
        nonlocal attempts
        attempts += 1
        raise ConnectionError("down")

    for _ in range(100):
        with pytest.raises(ConnectionError):
            retry.call(down)
    assert attempts == 110, "100 first attempts, and retries capped at 10% of them"
    assert budget.spent == (100, 10)
    clock.advance(11)
    assert budget.spent == (0, 0), "the window slides"


def test_async_retry_and_decorator():
    clock = ManualClock()
    calls = []

    @Retry(stop=stop_after_attempt(3), wait=wait_fixed(0.5), clock=clock)
    async def fetch():
        calls.append(clock())
        if len(calls) < 3:
            raise TimeoutError()
        return "ok"

    assert asyncio.run(fetch()) == "ok"
    assert calls == [0, 0.5, 1.0]


def test_decorrelated_jitter_stays_in_bounds():
    rng = random.Random(7)
    retry = Retry(wait=wait_exponential(base=1, max_delay=20, jitter="decorrelated", rng=rng),
                  stop=stop_after_attempt(50), clock=ManualClock())
    delays = []
    retry.before_sleep = lambda s: delays.append(s.delay)
    with pytest.raises(ConnectionError):
        retry.call(Flaky(retry.clock, failures=100))
    assert len(delays) == 49 and all(1 <= d <= 20 for d in delays)
    assert all(d <= 3 * p for p, d in zip(delays, delays[1:], strict=False))


def test_backoff_delays_formulas():
    assert backoff_delays(4, 0.5) == [0.5, 1.0, 2.0, 4.0]
    assert backoff_delays(4, 1, factor=3, max_delay=5) == [1, 3, 5, 5]
    full = backoff_delays(2000, 1, max_delay=8, jitter="full", rng=random.Random(1))
    assert all(0 <= d <= min(8, 2**i) for i, d in enumerate(full))
    equal = backoff_delays(2000, 1, max_delay=8, jitter="equal", rng=random.Random(1))
    assert all(min(8, 2**i) / 2 <= d <= min(8, 2**i) for i, d in enumerate(equal))
    assert backoff_delays(5, 1, jitter="full", rng=random.Random(3)) == backoff_delays(5, 1, jitter="full",
                                                                                     rng=random.Random(3))
    huge = backoff_delays(10_000, 1, factor=10, max_delay=60)
    assert max(huge) == 60 and backoff_delays(3000, 1)[-1] == math.inf


@pytest.mark.parametrize(("args", "message"), [
    ((-1, 1), "attempts must be >= 0"), ((3, 0), "base must be > 0"),
    ((3, 1, 0.5), "factor must be >= 1"), ((3, 1, 2, 10, "wild"), "jitter must be one of"),
])
def test_backoff_delays_errors(args, message):
    with pytest.raises(ValueError, match=message):
        backoff_delays(*args)


def test_bulkhead_rejects_when_full_and_frees_slots():
    bulkhead = Bulkhead(2, name="payment")
    inside, release = threading.Barrier(3), threading.Event()

    def hold():
        inside.wait()
        release.wait(10)

    threads = [threading.Thread(target=bulkhead.call, args=(hold,)) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    with pytest.raises(BulkheadFullError, match="'payment' is full"):
        bulkhead.call(lambda: None)
    release.set()
    for t in threads:
        t.join()
    assert bulkhead.call(lambda: "free again") == "free again"
    assert (bulkhead.in_flight, bulkhead.rejected) == (0, 1)


def test_async_bulkhead_waits_up_to_max_wait():
    async def main():
        bulkhead = AsyncBulkhead(1, max_wait=5)
        gate = asyncio.Event()

        async def hold():
            await gate.wait()
            return "held"

        first = asyncio.create_task(bulkhead.acall(hold))
        await asyncio.sleep(0)
        second = asyncio.create_task(bulkhead.acall(hold))
        await asyncio.sleep(0)
        gate.set()
        return await first, await second, bulkhead.rejected

    assert asyncio.run(main()) == ("held", "held", 0)


def test_fallback_serves_the_last_good_answer_then_the_default():
    fallback = Fallback(default={"stock": None})
    state = {"up": True}

    def stock(sku):
        if not state["up"]:
            raise ConnectionError("inventory down")
        return {"stock": 7, "sku": sku}

    assert fallback.call_with_source(stock, "A1") == ({"stock": 7, "sku": "A1"}, "live")
    state["up"] = False
    assert fallback.call_with_source(stock, "A1") == ({"stock": 7, "sku": "A1"}, "cache-fallback")
    assert fallback.call_with_source(stock, "B2") == ({"stock": None}, "default-fallback")
    with pytest.raises(ConnectionError):
        Fallback().call(stock, "C3")


def test_failover_skips_open_circuits_and_failed_endpoints():
    clock = ManualClock()
    breakers = {"primary": CircuitBreaker(failure_threshold=1, clock=clock)}
    down = {"primary"}

    def request(endpoint):
        if endpoint in down:
            raise ConnectionError(endpoint)
        return endpoint

    failover = Failover(["primary", "standby"], breakers=breakers)
    assert failover.call(request) == "standby"
    assert breakers["primary"].state == "open"
    down.add("standby")
    with pytest.raises(ConnectionError, match="standby"):
        failover.call(request)


def test_timeout_cuts_off_a_hung_coroutine():
    async def hang():
        await asyncio.Event().wait()

    async def main():
        with pytest.raises(TimeoutError):
            await with_timeout(0.01, hang)
        return await with_timeout(1, asyncio.sleep, 0, "done")

    assert asyncio.run(main()) == "done"


def test_composition_order():
    clock = ManualClock()
    breaker = CircuitBreaker(failure_threshold=1, open_timeout=60, clock=clock)
    flaky = Flaky(clock, failures=100)
    call = resilient(flaky, retry=Retry(stop=stop_after_attempt(3), wait=wait_fixed(1), clock=clock),
                     breaker=breaker, fallback=Fallback(default="fallback"))
    assert call() == "fallback"
    assert len(flaky.calls) == 3, "retries run inside the breaker: one logical failure"
    assert breaker.state == "open"
    assert call() == "fallback" and len(flaky.calls) == 3, "an open circuit stops the retries from starting"
    with pytest.raises(TypeError, match="coroutine"):
        resilient(flaky, timeout=1)
    with pytest.raises(CircuitOpenError):
        resilient(flaky, breaker=breaker)()


class _MidpointRng:
    """A deterministic stand-in for random.Random: every draw is the middle of its range, so a
    delay sequence depends only on the history it was computed from."""

    def uniform(self, low, high):
        return (low + high) / 2


def _interleaved_decorrelated_delays(rng, calls=2, failures=6):
    """Run ``calls`` calls through one Retry, taking turns at every retry; returns each call's delays."""
    clock = ManualClock()
    delays = {i: [] for i in range(calls)}

    async def take_turns(_seconds):
        await asyncio.sleep(0)  # hand over to the other call instead of waiting

    retry = Retry(wait=wait_exponential(base=1, max_delay=1000, jitter="decorrelated", rng=rng),
                  stop=stop_after_attempt(failures + 1), clock=clock, asleep=take_turns,
                  before_sleep=lambda s: delays[s.error.args[0]].append(s.delay))

    def flaky(i):
        left = [failures]

        async def fn():
            if left[0]:
                left[0] -= 1
                raise ConnectionError(i)
            return i

        return fn

    async def main():
        return await asyncio.gather(*(retry.acall(flaky(i)) for i in range(calls)))

    assert asyncio.run(main()) == list(range(calls))
    return [delays[i] for i in range(calls)]


def test_decorrelated_jitter_keeps_each_calls_history_apart():
    (alone,) = _interleaved_decorrelated_delays(_MidpointRng(), calls=1)
    assert alone == [2.0, 3.5, 5.75, 9.125, 14.1875, 21.78125], "each delay grows from the one before it"
    first, second = _interleaved_decorrelated_delays(_MidpointRng(), calls=2)
    assert first == alone and second == alone, "a call's delays come from its own history, not another call's"


def test_decorrelated_jitter_draws_each_delay_from_the_calls_own_previous_delay():
    draws = []

    class Recording(random.Random):
        def uniform(self, low, high):
            value = super().uniform(low, high)
            draws.append((low, high, value))
            return value

    first, second = _interleaved_decorrelated_delays(Recording(11), calls=2)
    assert first != second, "two calls sharing one RNG draw different delays"
    for delays in (first, second):
        bounds = [(1, 3 * prev) for prev in [1, *delays[:-1]]]
        assert [(low, high) for low, high, value in draws if value in delays] == bounds


class _Falsy:
    """A valid strategy that is falsy, e.g. because it is also an (empty) collection."""

    def __init__(self, result):
        self.result, self.calls = result, 0

    def __call__(self, _state):
        self.calls += 1
        return self.result

    def __len__(self):
        return 0


def test_falsy_but_callable_strategies_are_used_not_replaced_by_defaults():
    clock = ManualClock()
    stop, wait = _Falsy(False), _Falsy(0.25)

    class FalsySleep:
        def __init__(self):
            self.slept = []

        def __call__(self, seconds):
            self.slept.append(seconds)

        def __bool__(self):
            return False

    sleep = FalsySleep()
    retry = Retry(stop=stop, wait=wait, sleep=sleep, clock=clock)
    assert retry.stop is stop and retry.wait is wait
    assert retry.call(Flaky(clock, failures=5)) == "ok", "the given stop never stops (the default gives up at 3)"
    assert wait.calls == 5 and stop.calls == 5 and sleep.slept == [0.25] * 5


class _FalsyKey:
    def __call__(self, *args, **kwargs):
        return "one key for every call"

    def __len__(self):
        return 0


def test_a_falsy_clock_is_kept_by_the_rate_limiter():
    from highload.ratelimit import FixedWindowPolicy, RateLimiter

    class FalsyClock(ManualClock):
        def __bool__(self):
            return False

    clock = FalsyClock(5.0)
    assert RateLimiter(FixedWindowPolicy(1, 10), clock=clock).clock is clock


def test_a_falsy_fallback_key_is_kept():
    from highload.resilience import Fallback

    fallback = Fallback(key=_FalsyKey())
    assert fallback.call(lambda x: x, 1) == 1
    assert fallback.call(lambda x: 1 / 0, 2) == 1, "the given key maps both calls to one cached answer"


def test_a_falsy_default_breaker_config_is_kept():
    from highload.resilience import BreakerConfig, BreakerRegistry

    class FalsyConfig(BreakerConfig):
        def __bool__(self):
            return False

    config = FalsyConfig(failure_threshold=7)
    assert BreakerRegistry(default=config).default is config
