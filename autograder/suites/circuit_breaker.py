"""Hidden suite: CircuitBreaker(failure_threshold, success_threshold, open_timeout,
half_open_max_calls, clock) — one test per clause of the contract.

The target is the breaker class; ``CircuitOpenError`` is looked up in the module that defines
it (``__main__`` in a notebook). In-flight trials are made by re-entrancy, not threads: a trial
function calls the breaker again while it runs. Times move in steps of 0.25 and timeouts are
small integers, so every boundary is exactly representable.
"""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING, Clock

closed_to_open = pytest.mark.group("closed_to_open")
open_to_half_open = pytest.mark.group("open_to_half_open")
half_open = pytest.mark.group("half_open")
errors = pytest.mark.group("errors")


#: Tests outside the open_to_half_open group wait this long past open_timeout, so an off-by-one
#: boundary costs the timing tests (and the model), not every test that needs a half-open circuit.
PAST = 0.5


class Boom(Exception):
    """What the protected function raises in these tests."""


def open_error(target):
    """``CircuitOpenError`` from the module that defines the breaker class."""
    module = sys.modules.get(getattr(target, "__module__", None) or "")
    error = getattr(module, "CircuitOpenError", None)
    if not (isinstance(error, type) and issubclass(error, Exception)):
        pytest.fail("CircuitOpenError must be an Exception subclass defined next to the breaker class")
    return error


def make(target, start=1000.0, **params):
    clock = Clock(start)
    return target(clock=clock, **params), clock


def ok(value="ok"):
    return value


def fail():
    raise Boom("the service timed out")


def admitted(breaker, fn, *args):
    """breaker.call(fn, *args), which the contract says must run fn here."""
    try:
        return breaker.call(fn, *args)
    except open_error(type(breaker)) as exc:
        pytest.fail(f"this call must run, but it was rejected with CircuitOpenError ({exc})")


def succeed(breaker, times=1):
    for _ in range(times):
        assert admitted(breaker, ok) == "ok", "call() must return what fn returns"


def failures(breaker, times=1):
    for _ in range(times):
        try:
            admitted(breaker, fail)
        except Boom:
            continue
        pytest.fail("when fn raises, call() must re-raise that exception")


def rejected(target, breaker):
    """Call through the breaker; True when it was rejected with CircuitOpenError and fn never ran."""
    ran = []
    try:
        breaker.call(lambda: ran.append(1))
    except open_error(target):
        assert not ran, "a rejected call must not call fn"
        return True
    return False


def opened(target, *, failure_threshold=1, open_timeout=4, **params):
    """A breaker that has just opened: its last failure ended at clock.now."""
    breaker, clock = make(target, failure_threshold=failure_threshold, open_timeout=open_timeout, **params)
    failures(breaker, failure_threshold)
    assert breaker.state == "open", f"{failure_threshold} consecutive failure(s) must open the circuit"
    return breaker, clock


def half_opened(target, *, open_timeout=4, **params):
    breaker, clock = opened(target, open_timeout=open_timeout, **params)
    clock.advance(open_timeout + PAST)
    assert breaker.state == "half_open", "an open circuit reads half_open once open_timeout has passed"
    return breaker, clock


# -- closed -> open -----------------------------------------------------------------------------
@closed_to_open
def test_new_breaker_is_closed(target):
    breaker, _ = make(target)
    assert breaker.state == "closed", "a new breaker must be closed"


@closed_to_open
def test_call_passes_arguments_and_returns_the_result(target):
    breaker, _ = make(target)
    assert breaker.call(lambda a, b=0: a * 10 + b, 4, b=2) == 42, \
        "call(fn, *args, **kwargs) must run fn(*args, **kwargs) and return what it returns"
    assert breaker.state == "closed"


@closed_to_open
def test_stays_closed_one_failure_below_the_threshold(target):
    breaker, _ = make(target, failure_threshold=3)
    failures(breaker, 2)
    assert breaker.state == "closed", "2 failures with failure_threshold 3 must leave the circuit closed"
    succeed(breaker)


@closed_to_open
def test_opens_exactly_at_the_failure_threshold(target):
    breaker, _ = make(target, failure_threshold=3)
    for n in (1, 2):
        failures(breaker)
        assert breaker.state == "closed", f"after {n} of 3 failures the circuit must still be closed"
    failures(breaker)
    assert breaker.state == "open", "the 3rd consecutive failure reaches failure_threshold 3: open"
    assert rejected(target, breaker), "the next call must be rejected"


@closed_to_open
def test_failure_threshold_one_opens_on_the_first_failure(target):
    breaker, _ = make(target, failure_threshold=1)
    failures(breaker)
    assert breaker.state == "open", "failure_threshold 1 opens on the first failure"


@closed_to_open
def test_success_resets_the_consecutive_failure_count(target):
    breaker, _ = make(target, failure_threshold=3)
    failures(breaker, 2)
    succeed(breaker)
    failures(breaker, 2)
    assert breaker.state == "closed", "F F S F F: a success resets the count, so only 2 consecutive failures"
    failures(breaker)
    assert breaker.state == "open", "F F S F F F: the 3rd consecutive failure opens it"


@closed_to_open
def test_successes_never_open_the_circuit(target):
    breaker, _ = make(target, failure_threshold=1)
    succeed(breaker, 20)
    assert breaker.state == "closed", "successes must keep a closed circuit closed"


@closed_to_open
def test_any_exception_counts_as_a_failure(target):
    breaker, _ = make(target, failure_threshold=3)
    for error in (ValueError("bad"), KeyError("missing"), Boom("boom")):
        with pytest.raises(type(error)):
            admitted(breaker, _raiser(error))
    assert breaker.state == "open", "three exceptions of any type are three failures"


def _raiser(error):
    def fn():
        raise error
    return fn


@closed_to_open
def test_default_failure_threshold_is_five(target):
    breaker, _ = make(target)
    failures(breaker, 4)
    assert breaker.state == "closed", "the default failure_threshold is 5: 4 failures keep it closed"
    failures(breaker)
    assert breaker.state == "open", "the 5th failure opens it"


@closed_to_open
def test_breakers_do_not_share_state(target):
    first, _ = make(target, failure_threshold=1)
    second, _ = make(target, failure_threshold=1)
    failures(first)
    assert first.state == "open" and second.state == "closed", "each breaker must have its own state"


# -- open -> half_open (timing) -----------------------------------------------------------------
@open_to_half_open
def test_open_rejects_every_call_until_just_before_open_timeout(target):
    breaker, clock = opened(target, open_timeout=4)
    for step in (0, 1, 2, 0.75):  # t = 0, 1, 3, 3.75 after opening
        clock.advance(step)
        assert breaker.state == "open", "the circuit must stay open while clock() - opened_at < open_timeout"
        assert rejected(target, breaker), "every call while open must be rejected without calling fn"


@open_to_half_open
def test_reads_half_open_exactly_at_open_timeout(target):
    breaker, clock = opened(target, open_timeout=4)
    clock.advance(3.75)
    assert breaker.state == "open", "at open_timeout - 0.25 the circuit is still open"
    clock.advance(0.25)
    assert breaker.state == "half_open", "at exactly open_timeout the circuit reads half_open, no call needed"


@open_to_half_open
def test_first_call_after_open_timeout_is_a_trial(target):
    breaker, clock = opened(target, open_timeout=4)
    clock.advance(4)
    assert admitted(breaker, ok, "trial") == "trial", "at open_timeout the first call must run as a trial"


@open_to_half_open
def test_stays_half_open_after_open_timeout_without_calls(target):
    breaker, clock = opened(target, open_timeout=4)
    clock.advance(4.25)
    assert breaker.state == "half_open", "at open_timeout + 0.25 the circuit reads half_open"
    clock.advance(10_000)
    assert breaker.state == "half_open", "waiting longer neither closes nor re-opens it: only trials do"


@open_to_half_open
def test_opened_at_is_read_when_the_failing_call_ended(target):
    breaker, clock = make(target, failure_threshold=1, open_timeout=4)

    def slow_failure():
        clock.advance(1)  # the call takes one second, then fails
        raise Boom("timed out")

    with pytest.raises(Boom):
        admitted(breaker, slow_failure)
    clock.advance(3.75)
    assert breaker.state == "open", \
        "opened_at is read when the failing call ended: 3.75 s later the circuit is still open"
    clock.advance(0.25)
    assert breaker.state == "half_open", "4 s after the failing call ended it reads half_open"


@open_to_half_open
def test_rejected_calls_do_not_extend_the_open_timeout(target):
    breaker, clock = opened(target, open_timeout=4)
    for _ in range(3):
        clock.advance(1.25)  # t = 1.25, 2.5, 3.75
        assert rejected(target, breaker)
    clock.advance(0.25)
    assert breaker.state == "half_open", "rejected calls must not move opened_at"


@open_to_half_open
def test_zero_open_timeout_goes_straight_to_half_open(target):
    breaker, _ = make(target, failure_threshold=1, open_timeout=0)
    failures(breaker)
    assert breaker.state == "half_open", "with open_timeout 0, clock() - opened_at >= 0 holds at once"
    assert admitted(breaker, ok) == "ok", "and the next call is a trial"


@open_to_half_open
def test_open_timeout_uses_the_injected_clock(target):
    breaker, clock = make(target, start=123_456.0, failure_threshold=1, open_timeout=2)
    failures(breaker)
    assert breaker.state == "open", "no time has passed on the injected clock"
    clock.advance(2)
    assert breaker.state == "half_open", "2 s on the injected clock must end a 2 s open_timeout"


@open_to_half_open
def test_default_open_timeout_is_thirty_seconds(target):
    breaker, clock = make(target, failure_threshold=1)
    failures(breaker)
    clock.advance(29.75)
    assert breaker.state == "open", "the default open_timeout is 30 s: still open at 29.75 s"
    clock.advance(0.25)
    assert breaker.state == "half_open", "half_open at exactly 30 s"


# -- half-open: trials and the in-flight limit --------------------------------------------------
@half_open
def test_state_is_half_open_during_a_trial(target):
    breaker, _ = half_opened(target, success_threshold=2)
    seen = []
    admitted(breaker, lambda: seen.append(breaker.state))
    assert seen == ["half_open"], "while the first trial runs the circuit is half_open"


@half_open
def test_successful_trial_below_success_threshold_stays_half_open(target):
    breaker, _ = half_opened(target, success_threshold=3)
    for n in (1, 2):
        succeed(breaker)
        assert breaker.state == "half_open", f"{n} of 3 successful trials: still half_open"


@half_open
def test_success_threshold_trials_close_the_circuit(target):
    breaker, _ = half_opened(target, success_threshold=2)
    succeed(breaker)
    assert breaker.state == "half_open"
    succeed(breaker)
    assert breaker.state == "closed", "success_threshold 2 successful trials close the circuit"
    succeed(breaker, 3)
    assert breaker.state == "closed"


@half_open
def test_closing_resets_the_failure_count(target):
    breaker, _ = half_opened(target, failure_threshold=3, success_threshold=1)
    succeed(breaker)
    assert breaker.state == "closed"
    failures(breaker, 2)
    assert breaker.state == "closed", \
        "closing resets the counts: 2 new failures are below failure_threshold 3"
    failures(breaker)
    assert breaker.state == "open"


@half_open
def test_closing_resets_the_success_count(target):
    breaker, clock = half_opened(target, failure_threshold=1, success_threshold=2)
    succeed(breaker, 2)
    assert breaker.state == "closed"
    failures(breaker)
    clock.advance(4 + PAST)
    assert breaker.state == "half_open"
    succeed(breaker)
    assert breaker.state == "half_open", \
        "closing resets the counts: one trial of a new half-open period is below success_threshold 2"


@half_open
def test_failed_trial_re_opens_the_circuit(target):
    breaker, _ = half_opened(target, failure_threshold=3, success_threshold=2)
    failures(breaker)
    assert breaker.state == "open", "any failed trial re-opens the circuit, whatever failure_threshold is"
    assert rejected(target, breaker)


@half_open
def test_re_opened_at_is_read_when_the_failed_trial_ended(target):
    breaker, clock = half_opened(target, open_timeout=4)

    def slow_failure():
        clock.advance(1)
        raise Boom("timed out")

    with pytest.raises(Boom):
        admitted(breaker, slow_failure)
    clock.advance(3.75)
    assert breaker.state == "open", "opened_at is read when the failed trial ended: still open 3.75 s later"
    clock.advance(PAST)
    assert breaker.state == "half_open", "half_open again once open_timeout has passed since the failed trial ended"


@half_open
def test_failed_trial_restarts_the_success_count(target):
    breaker, clock = half_opened(target, success_threshold=3, open_timeout=4)
    succeed(breaker, 2)
    failures(breaker)
    clock.advance(4 + PAST)
    succeed(breaker, 2)
    assert breaker.state == "half_open", "successes from before the re-opening must not count: 2 of 3"
    succeed(breaker)
    assert breaker.state == "closed"


@half_open
def test_at_most_one_trial_in_flight_by_default(target):
    breaker, _ = half_opened(target, success_threshold=3)
    inside = []

    def trial():
        inside.append(rejected(target, breaker))
        inside.append(breaker.state)
        return "trial"

    assert admitted(breaker, trial) == "trial"
    assert inside == [True, "half_open"], \
        "while one trial is in flight (half_open_max_calls 1) a second call must be rejected"


@half_open
def test_at_most_half_open_max_calls_trials_in_flight(target):
    breaker, _ = half_opened(target, success_threshold=5, half_open_max_calls=2)
    log = []

    def third():
        log.append("third ran")

    def second():
        try:
            breaker.call(third)
        except open_error(target):
            log.append("third rejected")
        return "second"

    assert admitted(breaker, lambda: breaker.call(second)) == "second"
    assert log == ["third rejected"], "half_open_max_calls 2: two nested trials run, the third is rejected"


@half_open
def test_finished_trial_frees_its_slot(target):
    breaker, _ = half_opened(target, success_threshold=3, half_open_max_calls=1)
    for n in (1, 2):
        succeed(breaker)
        assert breaker.state == "half_open", f"{n} trial(s) done"
    succeed(breaker)
    assert breaker.state == "closed", "each finished trial frees its slot: 3 trials in a row, one at a time"


@half_open
def test_rejected_trial_neither_counts_nor_re_opens(target):
    breaker, _ = half_opened(target, success_threshold=2)

    def trial():
        assert rejected(target, breaker)
        return "trial"

    admitted(breaker, trial)
    assert breaker.state == "half_open", \
        "the rejected inner call is not a failure, and only one trial succeeded: still half_open"
    succeed(breaker)
    assert breaker.state == "closed"


def _trial_outlived_by_a_failed_one(target, breaker, clock, *, then_wait=0):
    """Trial A runs trial B, which fails and re-opens the circuit; A then succeeds (stale)."""
    seen = []

    def trial_b_fails():
        raise Boom("trial B failed")

    def trial_a():
        try:
            breaker.call(trial_b_fails)
        except Boom:
            pass
        seen.append(breaker.state)
        if then_wait:
            clock.advance(then_wait)
            seen.append(breaker.state)
        return "a"

    assert admitted(breaker, trial_a) == "a"
    return seen


@half_open
def test_stale_trial_success_after_re_opening_is_ignored(target):
    breaker, clock = half_opened(target, success_threshold=1, half_open_max_calls=2, open_timeout=4)
    seen = _trial_outlived_by_a_failed_one(target, breaker, clock)
    assert seen == ["open"], "a failed trial re-opens the circuit at once"
    assert breaker.state == "open", \
        "trial A finished after the circuit re-opened: it must be ignored, not close the circuit"
    clock.advance(3.75)
    assert breaker.state == "open", "nor may it move opened_at"
    clock.advance(PAST)
    assert breaker.state == "half_open"


@half_open
def test_stale_trial_failure_after_closing_is_ignored(target):
    breaker, _ = half_opened(target, failure_threshold=1, success_threshold=1, half_open_max_calls=2)
    seen = []

    def trial_a():
        succeed(breaker)  # trial B closes the circuit
        seen.append(breaker.state)
        raise Boom("trial A failed late")

    with pytest.raises(Boom):
        admitted(breaker, trial_a)
    assert seen == ["closed"]
    assert breaker.state == "closed", \
        "trial A finished after the circuit closed: its failure must be ignored (failure_threshold is 1)"


@half_open
def test_stale_trial_is_not_counted_in_a_later_half_open_period(target):
    breaker, clock = half_opened(target, success_threshold=2, half_open_max_calls=2, open_timeout=4)
    seen = _trial_outlived_by_a_failed_one(target, breaker, clock, then_wait=4 + PAST)
    assert seen == ["open", "half_open"]
    assert breaker.state == "half_open"
    succeed(breaker)
    assert breaker.state == "half_open", \
        "trial A belongs to the previous half-open period: only one trial of this one has succeeded"
    succeed(breaker)
    assert breaker.state == "closed"


@half_open
def test_stale_trial_does_not_free_a_slot_of_a_later_half_open_period(target):
    breaker, clock = half_opened(target, success_threshold=5, half_open_max_calls=2, open_timeout=4)
    _trial_outlived_by_a_failed_one(target, breaker, clock, then_wait=4 + PAST)
    log = []

    def second():
        try:
            breaker.call(lambda: log.append("third ran"))
        except open_error(target):
            log.append("third rejected")

    admitted(breaker, lambda: breaker.call(second))
    assert log == ["third rejected"], \
        "trial A (from an earlier period) must not free a slot: still only 2 trials in flight at once"


@half_open
def test_default_success_threshold_is_two_with_one_trial_at_a_time(target):
    breaker, clock = make(target, failure_threshold=1, open_timeout=1)
    failures(breaker)
    clock.advance(1 + PAST)
    inside = []
    admitted(breaker, lambda: inside.append(rejected(target, breaker)))
    assert inside == [True], "the default half_open_max_calls is 1"
    assert breaker.state == "half_open", "the default success_threshold is 2: one success is not enough"
    succeed(breaker)
    assert breaker.state == "closed"


class Model:
    """The contract, sequentially: no call is in flight when the next one starts."""

    def __init__(self, failure_threshold, success_threshold, open_timeout):
        self.ft, self.st, self.timeout = failure_threshold, success_threshold, open_timeout
        self.state, self.failures, self.successes, self.opened_at = "closed", 0, 0, 0.0

    def read(self, now):
        if self.state == "open" and now - self.opened_at >= self.timeout:
            self.state, self.successes = "half_open", 0
        return self.state

    def finished(self, started_in, success, now):
        if started_in == "closed":
            self.failures = 0 if success else self.failures + 1
            if self.failures >= self.ft:
                self.state, self.opened_at, self.failures = "open", now, 0
        elif not success:
            self.state, self.opened_at, self.successes = "open", now, 0
        else:
            self.successes += 1
            if self.successes >= self.st:
                self.state, self.failures, self.successes = "closed", 0, 0


# Long sequences, calls more often than the rest: the interesting paths (open, half-open, close,
# open again) need a dozen calls or more. The whole sequence is one draw of bytes, one byte a
# step, so generating and shrinking stay fast; byte 0 is a no-op (wait 0 s).
_KINDS = ("wait", "success", "failure", "success", "failure", "state")
_ops = st.binary(min_size=20, max_size=60).map(lambda raw: [(_KINDS[b % 6], (b // 6) % 21) for b in raw])


def _describe(op, k):
    if op == "wait":
        return f"wait {k * 0.25:g}s"
    if op == "state":
        return "state?"
    took = (k % 4) * 0.25
    return ("ok" if op == "success" else "fail") + (f" after {took:g}s" if took else "")


@half_open
@GRADING
@given(failure_threshold=st.integers(1, 3), success_threshold=st.integers(1, 3),
       open_timeout=st.sampled_from([0, 1, 2, 4]), half_open_max_calls=st.integers(1, 2), ops=_ops)
def test_matches_reference_model_on_random_sequences(target, failure_threshold, success_threshold,
                                                     open_timeout, half_open_max_calls, ops):
    error = open_error(target)
    clock = Clock(1000.0)
    breaker = target(failure_threshold=failure_threshold, success_threshold=success_threshold,
                     open_timeout=open_timeout, half_open_max_calls=half_open_max_calls, clock=clock)
    model = Model(failure_threshold, success_threshold, open_timeout)
    history = []
    for op, k in ops:
        where = f" after: {', '.join(history) or 'nothing'} (failure_threshold={failure_threshold}, " \
                f"success_threshold={success_threshold}, open_timeout={open_timeout})"
        if (op, k) != ("wait", 0):
            history.append(_describe(op, k))
        if op == "wait":
            clock.advance(k * 0.25)
        elif op == "state":
            want = model.read(clock.now)
            assert breaker.state == want, f"state must be {want!r}{where}"
        else:
            started_in = model.read(clock.now)
            ran, problem = [], Boom(op)

            def fn(duration=(k % 4) * 0.25, success=op == "success", ran=ran, problem=problem):
                ran.append(1)
                clock.advance(duration)  # the call takes 0 to 0.75 s
                if not success:
                    raise problem
                return "done"

            if started_in == "open":
                try:
                    breaker.call(fn)
                except error as exc:
                    retry = exc.retry_after
                except Boom:
                    retry = None
                else:
                    retry = None
                assert retry is not None and not ran, \
                    f"an open circuit must reject this call with CircuitOpenError, without calling fn{where}"
                assert retry >= 0, f"retry_after must be >= 0, got {retry}{where}"
                continue
            try:
                result = breaker.call(fn)
            except Boom as exc:
                assert exc is problem and op == "failure", f"call() must re-raise exactly what fn raised{where}"
            except error:
                pytest.fail(f"this call must run (the circuit is {started_in}){where}")
            else:
                assert op == "success" and result == "done", f"call() must return what fn returned, and re-raise what it raised{where}"
            model.finished(started_in, op == "success", clock.now)


# -- errors -------------------------------------------------------------------------------------
@errors
def test_circuit_open_error_is_importable_from_the_same_module(target):
    module = sys.modules.get(getattr(target, "__module__", None) or "")
    error = getattr(module, "CircuitOpenError", None)
    assert error is not None, "define CircuitOpenError in the same module (notebook) as CircuitBreaker"
    assert isinstance(error, type) and issubclass(error, Exception), "CircuitOpenError must subclass Exception"


@errors
def test_rejected_call_raises_circuit_open_error(target):
    breaker, _ = opened(target)
    with pytest.raises(open_error(target)):
        breaker.call(ok)


@errors
def test_rejected_call_does_not_call_fn(target):
    breaker, clock = opened(target, open_timeout=4)
    ran = []
    with pytest.raises(open_error(target)):
        breaker.call(ran.append, "open")
    clock.advance(4 + PAST)

    def trial():
        with pytest.raises(open_error(target)):
            breaker.call(ran.append, "half_open and full")
        return "trial"

    assert admitted(breaker, trial) == "trial"
    assert ran == [], "fn must not run when the call is rejected (open, or half-open with every slot taken)"


@errors
def test_retry_after_is_a_number_of_seconds_not_negative(target):
    breaker, clock = opened(target, open_timeout=4)
    error = open_error(target)
    waits = []
    for step in (0, 2, 1.75):  # t = 0, 2, 3.75 after opening
        clock.advance(step)
        with pytest.raises(error) as info:
            breaker.call(ok)
        waits.append(info.value.retry_after)
    clock.advance(PAST)

    def trial():
        with pytest.raises(error) as info:
            breaker.call(ok)
        waits.append(info.value.retry_after)

    admitted(breaker, trial)
    for wait in waits:
        assert isinstance(wait, int | float) and not math.isnan(wait), f"retry_after must be seconds, got {wait!r}"
        assert wait >= 0, f"retry_after must be >= 0, got {wait}"


@errors
def test_failure_re_raises_the_original_exception(target):
    breaker, _ = make(target, failure_threshold=3)
    problem = Boom("original")
    with pytest.raises(Boom) as info:
        admitted(breaker, _raiser(problem))
    assert info.value is problem, "the exception fn raised must be re-raised as is"


@errors
def test_opening_failure_re_raises_the_original_exception(target):
    breaker, _ = make(target, failure_threshold=1)
    problem = Boom("original")
    try:
        admitted(breaker, _raiser(problem))
    except Boom as exc:
        assert exc is problem, "the failure that opens the circuit must re-raise fn's exception"
    else:
        pytest.fail("the failure that opens the circuit must re-raise fn's exception, not CircuitOpenError")


@errors
def test_failed_trial_re_raises_the_original_exception(target):
    breaker, _ = half_opened(target)
    problem = Boom("original")
    try:
        admitted(breaker, _raiser(problem))
    except Boom as exc:
        assert exc is problem
    else:
        pytest.fail("a failed trial must re-raise fn's exception")


@errors
@pytest.mark.parametrize("value", [0, -1])
def test_failure_threshold_below_one_is_a_value_error(target, value):
    with pytest.raises(ValueError):
        target(failure_threshold=value, clock=Clock())


@errors
@pytest.mark.parametrize("value", [0, -1])
def test_success_threshold_below_one_is_a_value_error(target, value):
    with pytest.raises(ValueError):
        target(success_threshold=value, clock=Clock())


@errors
@pytest.mark.parametrize("value", [0, -1])
def test_half_open_max_calls_below_one_is_a_value_error(target, value):
    with pytest.raises(ValueError):
        target(half_open_max_calls=value, clock=Clock())


@errors
@pytest.mark.parametrize("value", [-1, -0.25])
def test_negative_open_timeout_is_a_value_error(target, value):
    with pytest.raises(ValueError):
        target(open_timeout=value, clock=Clock())


@errors
def test_limits_of_one_and_a_zero_timeout_are_valid(target):
    breaker = target(failure_threshold=1, success_threshold=1, open_timeout=0, half_open_max_calls=1,
                     clock=Clock())
    assert breaker.state == "closed"
    assert admitted(breaker, ok) == "ok"
