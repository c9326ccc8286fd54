"""Plausible wrong answers to exercise 09. The hidden suites must fail every one of them.

``GoodBreaker`` and ``good_backoff_delays`` are standalone correct answers (they never import
highload). Each broken variant differs from them in exactly one mistake a student might make.
"""

from __future__ import annotations

import math
import random
import time


class CircuitOpenError(Exception):
    """Raised instead of calling fn while the circuit rejects calls."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit is open: retry in {retry_after:g} s")
        self.retry_after = retry_after


class GoodBreaker:
    def __init__(self, failure_threshold=5, success_threshold=2, open_timeout=30.0, half_open_max_calls=1,
                 clock=time.monotonic):
        self._validate(failure_threshold, success_threshold, open_timeout, half_open_max_calls)
        self.failure_threshold, self.success_threshold = failure_threshold, success_threshold
        self.open_timeout, self.half_open_max_calls, self.clock = open_timeout, half_open_max_calls, clock
        self._state, self._period, self._opened_at = "closed", 0, 0.0
        self._failures = self._successes = self._in_flight = 0

    def _validate(self, failure_threshold, success_threshold, open_timeout, half_open_max_calls):
        for name, value in [("failure_threshold", failure_threshold), ("success_threshold", success_threshold),
                            ("half_open_max_calls", half_open_max_calls)]:
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if open_timeout < 0:
            raise ValueError(f"open_timeout must be >= 0, got {open_timeout}")

    def _timed_out(self, now):
        return now - self._opened_at >= self.open_timeout

    @property
    def state(self):
        if self._state == "open" and self._timed_out(self.clock()):
            self._enter("half_open")
        return self._state

    def _enter(self, state):
        # A new period: calls still running from the old one become stale.
        self._state, self._period = state, self._period + 1
        self._failures = self._successes = self._in_flight = 0
        if state == "open":
            self._opened_at = self.clock()

    def _retry_after(self):
        return self._opened_at + self.open_timeout - self.clock()

    def _admit(self, state):
        if state == "open":
            raise CircuitOpenError(self._retry_after())
        if state == "half_open":
            if self._in_flight >= self.half_open_max_calls:
                raise CircuitOpenError(0.0)
            self._in_flight += 1

    def call(self, fn, *args, **kwargs):
        state = self.state
        self._admit(state)
        period = self._period
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self._finished(state, period, success=False)
            raise
        self._finished(state, period, success=True)
        return result

    def _stale(self, period):
        return period != self._period

    def _finished(self, state, period, success):
        if self._stale(period):
            return
        if state == "half_open":
            self._in_flight -= 1
            self._trial_done(success)
        elif success:
            self._failures = 0
        else:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._enter("open")

    def _trial_done(self, success):
        if not success:
            self._enter("open")
            return
        self._successes += 1
        if self._successes >= self.success_threshold:
            self._enter("closed")


class SuccessDoesNotResetFailures(GoodBreaker):
    def _finished(self, state, period, success):
        if state == "closed" and success and not self._stale(period):
            return
        super()._finished(state, period, success)


class OpensAfterThreshold(GoodBreaker):
    def __init__(self, failure_threshold=5, *args, **kwargs):
        super().__init__(failure_threshold, *args, **kwargs)
        self.failure_threshold = failure_threshold + 1


class OpenedAtBeforeCall(GoodBreaker):
    def call(self, fn, *args, **kwargs):
        self._started = self.clock()
        return super().call(fn, *args, **kwargs)

    def _enter(self, state):
        super()._enter(state)
        if state == "open":
            self._opened_at = self._started


class StrictOpenTimeout(GoodBreaker):
    def _timed_out(self, now):
        return now - self._opened_at > self.open_timeout


class RejectionsRestartTimeout(GoodBreaker):
    def _admit(self, state):
        if state == "open":
            self._opened_at = self.clock()
        super()._admit(state)


class CallsFnWhileOpen(GoodBreaker):
    def call(self, fn, *args, **kwargs):
        if self.state == "open":
            fn(*args, **kwargs)
        return super().call(fn, *args, **kwargs)


class NegativeRetryAfter(GoodBreaker):
    def _retry_after(self):
        return self.clock() - self._opened_at - self.open_timeout


class NoValidation(GoodBreaker):
    def _validate(self, *args):
        pass


class WallClock(GoodBreaker):
    def __init__(self, *args, clock=time.monotonic, **kwargs):
        super().__init__(*args, clock=time.monotonic, **kwargs)


class RaisesCircuitOpenOnTheOpeningFailure(GoodBreaker):
    def call(self, fn, *args, **kwargs):
        try:
            return super().call(fn, *args, **kwargs)
        except CircuitOpenError:
            raise
        except Exception:
            if self._state == "open":
                raise CircuitOpenError(self._retry_after()) from None
            raise


class UnlimitedHalfOpenTrials(GoodBreaker):
    def _admit(self, state):
        if state == "open":
            raise CircuitOpenError(self._retry_after())


class SlotsNeverFreed(GoodBreaker):
    def _finished(self, state, period, success):
        if state == "half_open" and not self._stale(period):
            self._in_flight += 1
        super()._finished(state, period, success)


class StaleTrialCounted(GoodBreaker):
    def _stale(self, period):
        return False


class StaleTrialFreesSlot(GoodBreaker):
    def _finished(self, state, period, success):
        if state == "half_open" and self._stale(period):
            self._in_flight -= 1
        super()._finished(state, period, success)


class FailedTrialCountsLikeClosed(GoodBreaker):
    def _trial_done(self, success):
        if success:
            super()._trial_done(success)
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._enter("open")


class FailedTrialKeepsOldOpenedAt(GoodBreaker):
    def _enter(self, state):
        opened_at, reopening = self._opened_at, self._state == "half_open" and state == "open"
        super()._enter(state)
        if reopening:
            self._opened_at = opened_at


class ClosingKeepsFailures(GoodBreaker):
    def _enter(self, state):
        failures = self._failures
        super()._enter(state)
        self._failures = failures  # reset only by a success, never by a transition


class SuccessesSurviveReopening(GoodBreaker):
    def _enter(self, state):
        successes = self._successes
        super()._enter(state)
        if state != "closed":
            self._successes = successes


class LateFailureReOpens(GoodBreaker):
    """A learner's slip: only trials remember their period, so a call that started closed and
    fails after the circuit opened counts as a failure now, and re-opens it."""

    def _finished(self, state, period, success):
        super()._finished(state, self._period if state == "closed" else period, success)


class LateCallCountsInTheCurrentState(GoodBreaker):
    """No periods at all: a call's outcome counts in whatever state the circuit is in when it ends."""

    def _finished(self, state, period, success):
        now = self.state
        if now == "open":
            return
        if now == "half_open" and state != "half_open":
            self._in_flight += 1  # it is counted as a trial, so it frees a trial's slot too
        super()._finished(now, self._period, success)


class RetryAfterIsTheFullTimeout(GoodBreaker):
    def _retry_after(self):
        return self.open_timeout


class BusyRetryAfterIsTheOpenTimeout(GoodBreaker):
    def _admit(self, state):
        if state == "half_open" and self._in_flight >= self.half_open_max_calls:
            raise CircuitOpenError(self.open_timeout)
        super()._admit(state)


BROKEN_BREAKERS = [
    SuccessDoesNotResetFailures, OpensAfterThreshold, OpenedAtBeforeCall, StrictOpenTimeout,
    RejectionsRestartTimeout, CallsFnWhileOpen, NegativeRetryAfter, NoValidation, WallClock,
    RaisesCircuitOpenOnTheOpeningFailure, UnlimitedHalfOpenTrials, SlotsNeverFreed, StaleTrialCounted,
    StaleTrialFreesSlot, FailedTrialCountsLikeClosed, FailedTrialKeepsOldOpenedAt, ClosingKeepsFailures,
    SuccessesSurviveReopening, LateFailureReOpens, LateCallCountsInTheCurrentState, RetryAfterIsTheFullTimeout,
    BusyRetryAfterIsTheOpenTimeout,
]


# -- backoff --------------------------------------------------------------------------------------
class Backoff:
    """The correct answer, split into steps so each broken variant overrides exactly one."""

    JITTERS = ("none", "full", "equal", "decorrelated")

    def validate(self, attempts, base, factor, jitter):
        if attempts < 0:
            raise ValueError(f"attempts must be >= 0, got {attempts}")
        if base <= 0:
            raise ValueError(f"base must be > 0, got {base}")
        if factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor}")
        if jitter not in self.JITTERS:
            raise ValueError(f"jitter must be one of {self.JITTERS}, got {jitter!r}")

    def caps(self, attempts, base, factor, max_delay):
        cap = float(base)
        for _ in range(attempts):
            yield min(max_delay, cap)
            cap = min(max_delay, cap * factor)  # capping as we go: no overflow, inf stays inf

    def uniform(self, rng, low, high):
        return rng.uniform(low, high)

    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        if jitter == "none":
            return cap
        if jitter == "full":
            return self.uniform(rng, 0, cap)
        if jitter == "equal":
            return cap / 2 + self.uniform(rng, 0, cap / 2)
        return min(max_delay, self.uniform(rng, base, prev * 3))

    def __call__(self, attempts, base, factor=2.0, max_delay=math.inf, jitter="none", rng=None):
        self.validate(attempts, base, factor, jitter)
        rng = rng if rng is not None else random.Random()
        delays, prev = [], base
        for cap in self.caps(attempts, base, factor, max_delay):
            prev = self.jittered(jitter, cap, prev, base, max_delay, rng)
            delays.append(prev)
        return delays


def _as_function(cls, name):
    impl = cls()

    def backoff_delays(attempts, base, factor=2.0, max_delay=math.inf, jitter="none", rng=None):
        return impl(attempts, base, factor, max_delay, jitter, rng)

    backoff_delays.__name__ = backoff_delays.__qualname__ = name
    return backoff_delays


class _FirstDelayTimesFactor(Backoff):
    def caps(self, attempts, base, factor, max_delay):
        return super().caps(attempts, base * factor, factor, max_delay)


class _Overflows(Backoff):
    def caps(self, attempts, base, factor, max_delay):
        return (min(max_delay, base * factor**i) for i in range(attempts))


class _FullJitterUpToBase(Backoff):
    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        if jitter == "full":
            return self.uniform(rng, 0, min(cap, base))
        return super().jittered(jitter, cap, prev, base, max_delay, rng)


class _EqualJitterLikeFull(Backoff):
    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        return super().jittered("full" if jitter == "equal" else jitter, cap, prev, base, max_delay, rng)


class _JitterBeforeCap(Backoff):
    def caps(self, attempts, base, factor, max_delay):
        self.max_delay = max_delay
        return super().caps(attempts, base, factor, math.inf)

    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        return min(self.max_delay, super().jittered(jitter, cap, prev, base, max_delay, rng))


class _DecorrelatedIgnoresPrev(Backoff):
    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        return super().jittered(jitter, cap, base, base, max_delay, rng)


class _DecorrelatedFromCap(Backoff):
    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        return super().jittered(jitter, cap, cap, base, max_delay, rng)


class _DecorrelatedUncapped(Backoff):
    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        return super().jittered(jitter, cap, prev, base, math.inf, rng)


class _DecorrelatedKeepsUncappedDraw(Backoff):
    """A learner's slip: prev is the uncapped draw, so nearly every delay sits at max_delay."""

    def __call__(self, attempts, base, factor=2.0, max_delay=math.inf, jitter="none", rng=None):
        if jitter != "decorrelated":
            return super().__call__(attempts, base, factor, max_delay, jitter, rng)
        self.validate(attempts, base, factor, jitter)
        rng = rng if rng is not None else random.Random()
        delays, prev = [], base
        for _ in range(attempts):
            prev = self.uniform(rng, base, prev * 3)
            delays.append(min(max_delay, prev))
        return delays


class _IgnoresRngSeed(Backoff):
    def uniform(self, rng, low, high):
        return random.uniform(low, high)


class _FixedSeed(Backoff):
    def __call__(self, attempts, base, factor=2.0, max_delay=math.inf, jitter="none", rng=None):
        return super().__call__(attempts, base, factor, max_delay, jitter, random.Random(0))


class _NoValidation(Backoff):
    def validate(self, attempts, base, factor, jitter):
        pass

    def jittered(self, jitter, cap, prev, base, max_delay, rng):
        return super().jittered(jitter if jitter in self.JITTERS else "none", cap, prev, base, max_delay, rng)


class _ValidatesOnlyWhenUsed(Backoff):
    def __call__(self, attempts, base, factor=2.0, max_delay=math.inf, jitter="none", rng=None):
        if attempts == 0:
            return []
        return super().__call__(attempts, base, factor, max_delay, jitter, rng)


class _RejectsInfiniteMaxDelay(Backoff):
    def caps(self, attempts, base, factor, max_delay):
        if math.isinf(max_delay):
            raise ValueError("max_delay must be finite")
        return super().caps(attempts, base, factor, max_delay)


good_backoff_delays = _as_function(Backoff, "good_backoff_delays")
first_delay_times_factor = _as_function(_FirstDelayTimesFactor, "first_delay_times_factor")
overflows = _as_function(_Overflows, "overflows")
full_jitter_up_to_base = _as_function(_FullJitterUpToBase, "full_jitter_up_to_base")
equal_jitter_like_full = _as_function(_EqualJitterLikeFull, "equal_jitter_like_full")
jitter_before_cap = _as_function(_JitterBeforeCap, "jitter_before_cap")
decorrelated_ignores_prev = _as_function(_DecorrelatedIgnoresPrev, "decorrelated_ignores_prev")
decorrelated_from_cap = _as_function(_DecorrelatedFromCap, "decorrelated_from_cap")
decorrelated_uncapped = _as_function(_DecorrelatedUncapped, "decorrelated_uncapped")
decorrelated_keeps_uncapped_draw = _as_function(_DecorrelatedKeepsUncappedDraw, "decorrelated_keeps_uncapped_draw")
ignores_rng_seed = _as_function(_IgnoresRngSeed, "ignores_rng_seed")
fixed_seed = _as_function(_FixedSeed, "fixed_seed")
no_validation = _as_function(_NoValidation, "no_validation")
validates_only_when_used = _as_function(_ValidatesOnlyWhenUsed, "validates_only_when_used")
rejects_infinite_max_delay = _as_function(_RejectsInfiniteMaxDelay, "rejects_infinite_max_delay")

BROKEN_BACKOFFS = [
    first_delay_times_factor, overflows, full_jitter_up_to_base, equal_jitter_like_full, jitter_before_cap,
    decorrelated_ignores_prev, decorrelated_from_cap, decorrelated_uncapped, decorrelated_keeps_uncapped_draw,
    ignores_rng_seed, fixed_seed,
    no_validation, validates_only_when_used, rejects_infinite_max_delay,
]
