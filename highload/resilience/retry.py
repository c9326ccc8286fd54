"""Retries as small composable policies: when to stop, how long to wait, what to retry.

    retry = Retry(stop=stop_after_attempt(4) | stop_after_delay(10),
                  wait=wait_exponential(base=0.1, max_delay=5, jitter="full"))
    retry.call(fetch, url)        # or: await retry.acall(afetch, url), or @retry

Only transient errors are retried by default (connection errors, timeouts, 429 and 5xx
statuses); a user error such as a 4xx or a ValueError fails at once. A ``retry_after``
attribute or a ``Retry-After`` header on the error is honoured. A :class:`RetryBudget`
caps retries across calls, so retries cannot turn an outage into a storm.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from highload import _validate

from .backoff import JITTERS
from .budget import RetryBudget
from .events import Event, EventPublisher

__all__ = [
    "Retry", "RetryState", "stop_after_attempt", "stop_after_delay", "wait_fixed", "wait_exponential",
    "wait_random", "is_transient", "retry_if_exception_type", "retry_after_of",
]


@dataclass(frozen=True, slots=True)
class RetryState:
    """What a policy sees: attempts made so far, seconds since the first, and the last error."""

    attempt: int
    elapsed: float
    error: BaseException
    delay: float = 0.0
    #: What the wait strategy returned before the previous retry *of this call* (0.0 before
    #: the first): the history decorrelated jitter grows from. It lives here, not in the
    #: strategy, because one ``Retry`` (and its wait) serves many concurrent calls.
    previous_wait: float = 0.0


class _Stop:
    def __init__(self, check: Callable[[RetryState], bool], text: str) -> None:
        self._check, self._text = check, text

    def __call__(self, state: RetryState) -> bool:
        return self._check(state)

    def __or__(self, other: _Stop) -> _Stop:
        return _Stop(lambda s: self(s) or other(s), f"{self._text} | {other._text}")

    def __and__(self, other: _Stop) -> _Stop:
        return _Stop(lambda s: self(s) and other(s), f"{self._text} & {other._text}")

    def __repr__(self) -> str:
        return self._text


def stop_after_attempt(attempts: int) -> _Stop:
    """Stop once ``attempts`` calls (the first included) have been made."""
    _validate.integer("attempts", attempts, minimum=1)
    return _Stop(lambda s: s.attempt >= attempts, f"stop_after_attempt({attempts})")


def stop_after_delay(seconds: float) -> _Stop:
    """A time box: stop rather than sleep past ``seconds`` since the first attempt."""
    _validate.number("seconds", seconds, minimum=0, inclusive=True)
    return _Stop(lambda s: s.elapsed + s.delay > seconds, f"stop_after_delay({seconds:g})")


class _Wait:
    def __init__(self, compute: Callable[[RetryState], float], text: str) -> None:
        self._compute, self._text = compute, text

    def __call__(self, state: RetryState) -> float:
        return self._compute(state)

    def __add__(self, other: _Wait) -> _Wait:
        return _Wait(lambda s: self(s) + other(s), f"{self._text} + {other._text}")

    def __repr__(self) -> str:
        return self._text


def wait_fixed(seconds: float) -> _Wait:
    # finite and at most 10 years: the delay reaches time.sleep, which overflows on inf or 1e308
    seconds = _validate.seconds("seconds", seconds, inclusive=True)
    return _Wait(lambda s: seconds, f"wait_fixed({seconds:g})")


def wait_random(low: float, high: float, rng: random.Random | None = None) -> _Wait:
    low = _validate.seconds("low", low, inclusive=True)
    high = _validate.seconds("high", high, inclusive=True)
    if not low <= high:
        raise ValueError(f"need 0 <= low <= high, got low={low!r}, high={high!r}")
    rng = random.Random() if rng is None else rng
    return _Wait(lambda s: rng.uniform(low, high), f"wait_random({low:g}, {high:g})")


def wait_exponential(base: float = 0.1, factor: float = 2.0, max_delay: float = 30.0, jitter: str = "full",
                     rng: random.Random | None = None) -> _Wait:
    """The delay before retry n is based on ``min(max_delay, base * factor**(n-1))``, jittered
    as in :func:`~highload.resilience.backoff_delays`."""
    base, factor, max_delay = _validate.backoff(base, factor, max_delay)
    _validate.choice("jitter", jitter, JITTERS)
    rng = random.Random() if rng is None else rng

    def compute(state: RetryState) -> float:
        if jitter == "decorrelated":
            # Each retry's delay grows from the one before it in the same call (never from another
            # call's, so nothing is kept here); a new call starts again from base.
            prev = base if state.attempt == 1 else state.previous_wait
            return min(max_delay, rng.uniform(base, prev * 3))
        try:
            cap = min(max_delay, base * factor ** (state.attempt - 1))
        except OverflowError:
            cap = max_delay
        if jitter == "full":
            return rng.uniform(0, cap)
        if jitter == "equal":
            return cap / 2 + rng.uniform(0, cap / 2)
        return cap

    return _Wait(compute, f"wait_exponential({base:g}, {factor:g}, {max_delay:g}, {jitter!r})")


def _status(error: BaseException) -> int | None:
    for holder in (error, getattr(error, "response", None)):
        for attr in ("status_code", "status"):
            value = getattr(holder, attr, None)
            if isinstance(value, int):
                return value
    return None


def is_transient(error: BaseException) -> bool:
    """Retry connection errors, timeouts, 429 and 5xx; never a 4xx or a programming error."""
    status = _status(error)
    if status is not None:
        return status == 429 or status >= 500
    return isinstance(error, ConnectionError | TimeoutError)


def retry_if_exception_type(*types: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda error: isinstance(error, types)


def retry_after_of(error: BaseException) -> float | None:
    """Seconds the server asked us to wait: a ``retry_after`` attribute or a Retry-After header."""
    value = getattr(error, "retry_after", None)
    if value is None:
        headers = getattr(getattr(error, "response", None), "headers", None) or {}
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP-date Retry-After is rare between services; fall back to backoff


def _first_given(*options: Any) -> Any:
    """The first option that is not None (``a or b`` would also skip a falsy but valid one)."""
    return next(option for option in options if option is not None)


class Retry:
    """Call a function again on transient errors, with backoff, a time box and an optional budget."""

    def __init__(
        self,
        *,
        stop: Callable[[RetryState], bool] | None = None,
        wait: Callable[[RetryState], float] | None = None,
        retry_on: Callable[[BaseException], bool] = is_transient,
        budget: RetryBudget | None = None,
        before_sleep: Callable[[RetryState], None] | None = None,
        honour_retry_after: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        asleep: Callable[[float], Any] | None = None,
        name: str = "default",
    ) -> None:
        # ``is None``, not ``or``: a strategy object may be falsy (say, it defines __len__) and still
        # be the one the caller chose.
        self.stop = stop_after_attempt(3) if stop is None else stop
        self.wait = wait_exponential() if wait is None else wait
        if not callable(retry_on):
            raise TypeError(f"retry_on must be a predicate taking the exception, got {retry_on!r}")
        self.retry_on, self.budget, self.before_sleep = retry_on, budget, before_sleep
        self.honour_retry_after, self.clock, self.name = honour_retry_after, clock, name
        # A clock with its own sleep (a ManualClock) is used for sleeping too, so tests never wait.
        self._sleep = _first_given(sleep, getattr(clock, "sleep", None), time.sleep)
        self._asleep = _first_given(asleep, getattr(clock, "asleep", None), asyncio.sleep)
        self.events = EventPublisher()

    def __repr__(self) -> str:
        return f"Retry(stop={self.stop!r}, wait={self.wait!r})"

    def _next_delay(self, attempt: int, start: float, error: BaseException,
                    previous_wait: float) -> tuple[float, float] | None:
        """Seconds to wait before the next attempt and what the wait strategy said (the call
        keeps that as its ``previous_wait``), or None to give up and re-raise ``error``."""
        if not self.retry_on(error):
            return None
        elapsed = self.clock() - start
        waited = self.wait(RetryState(attempt, elapsed, error, 0.0, previous_wait))
        delay = waited
        if self.honour_retry_after:
            asked = retry_after_of(error)
            if asked is not None:
                delay = max(delay, asked)
        state = RetryState(attempt, elapsed, error, delay, previous_wait)
        if self.stop(state):
            return None
        if self.budget is not None and not self.budget.try_spend():
            error.add_note(f"retry budget of {self.name!r} exhausted: not retried")
            return None
        if self.before_sleep is not None:
            self.before_sleep(state)
        if self.events.wants("retry"):
            self.events.publish(Event(self.name, "retry", self.clock(), delay,
                                      {"attempt": attempt, "error": repr(error)}))
        return delay, waited

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.budget is not None:
            self.budget.record_request()
        start = self.clock()
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # the success path above costs one try block, nothing more
            last = error
        attempt, previous_wait = 1, 0.0  # per call: concurrent calls never share a history
        while True:
            planned = self._next_delay(attempt, start, last, previous_wait)
            if planned is None:
                raise last
            delay, previous_wait = planned
            self._sleep(delay)
            attempt += 1
            try:
                return fn(*args, **kwargs)
            except Exception as error:
                last = error

    async def acall(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.budget is not None:
            self.budget.record_request()
        start = self.clock()
        try:
            return await fn(*args, **kwargs)
        except Exception as error:
            last = error
        attempt, previous_wait = 1, 0.0  # per call: concurrent calls never share a history
        while True:
            planned = self._next_delay(attempt, start, last, previous_wait)
            if planned is None:
                raise last
            delay, previous_wait = planned
            await self._asleep(delay)
            attempt += 1
            try:
                return await fn(*args, **kwargs)
            except Exception as error:
                last = error

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):
            @wraps(fn)
            async def retried_async(*args: Any, **kwargs: Any) -> Any:
                return await self.acall(fn, *args, **kwargs)

            return retried_async

        @wraps(fn)
        def retried(*args: Any, **kwargs: Any) -> Any:
            return self.call(fn, *args, **kwargs)

        return retried
