"""Hidden suite: CircuitBreaker(failure_threshold, success_threshold, open_timeout,
half_open_max_calls, clock) — one test per clause of the contract.

The target is the breaker class; ``CircuitOpenError`` is looked up in the module that defines
it (``__main__`` in a notebook). In-flight calls are made by re-entrancy, not threads: a
function calls the breaker again while it runs. Times move in steps of 0.25 and timeouts are
small integers, so every boundary is exactly representable.

Each rule is graded in exactly one group (one graded cell), so one slip costs one cell's
points: tests outside a rule's group step around it (they wait PAST the timeout, open the
circuit with calls that take no time, and let a rule graded elsewhere pass silently where
they only need it to set the scene).
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
late_calls = pytest.mark.group("late_calls")
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
    """Call through the breaker; True when it was rejected with CircuitOpenError.

    Whether fn ran anyway is graded once, by test_rejected_call_does_not_call_fn."""
    try:
        breaker.call(ok)
    except open_error(target):
        return True
    return False


def trip(breaker):
    """Fail until the circuit leaves closed, in no time. How many failures that takes is graded
    by the closed_to_open tests alone: the others only need a circuit that has just opened."""
    for _ in range(8):
        failures(breaker)
        if breaker.state != "closed":
            return
    pytest.fail("8 consecutive failures must open the circuit")


def opened(target, *, failure_threshold=1, open_timeout=4, **params):
    """A breaker that has just opened: its last failure ended at clock.now."""
    breaker, clock = make(target, failure_threshold=failure_threshold, open_timeout=open_timeout, **params)
    trip(breaker)
    assert breaker.state == "open", "consecutive failures must open the circuit"
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


@closed_to_open
@GRADING
@given(failure_threshold=st.integers(1, 4), outcomes=st.lists(st.booleans(), min_size=1, max_size=30))
def test_consecutive_failures_match_a_model_on_random_sequences(target, failure_threshold, outcomes):
    breaker, _ = make(target, failure_threshold=failure_threshold, open_timeout=60)
    streak, history = 0, []
    for success in outcomes:
        history.append("ok" if success else "fail")
        if success:
            succeed(breaker)
        else:
            failures(breaker)
        streak = 0 if success else streak + 1
        want = "open" if streak >= failure_threshold else "closed"
        assert breaker.state == want, \
            f"state must be {want!r} after: {', '.join(history)} (failure_threshold={failure_threshold})"
        if want == "open":
            return


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

    for _ in range(8):  # until one opens the circuit: how many that takes is closed_to_open's
        with pytest.raises(Boom):
            admitted(breaker, slow_failure)
        if breaker.state != "closed":
            break
    clock.advance(3.75)
    assert breaker.state == "open", \
        "opened_at is read when the failing call ended: 3.75 s later the circuit is still open"
    clock.advance(0.25)
    assert breaker.state == "half_open", "4 s after the failing call ended it reads half_open"


@open_to_half_open
def test_re_opened_at_is_read_when_the_failed_trial_ended(target):
    breaker, clock = half_opened(target, open_timeout=4)

    def slow_failure():
        clock.advance(1)
        raise Boom("timed out")

    with pytest.raises(Boom):
        admitted(breaker, slow_failure)
    if breaker.state != "open":
        return  # the failed trial did not re-open the circuit at all: graded with the half-open rules
    clock.advance(3.75)
    assert breaker.state == "open", "opened_at is read when the failed trial ended: still open 3.75 s later"
    clock.advance(PAST)
    assert breaker.state == "half_open", "half_open again once open_timeout has passed since the failed trial ended"


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
    trip(breaker)
    assert breaker.state == "half_open", "with open_timeout 0, clock() - opened_at >= 0 holds at once"
    assert admitted(breaker, ok) == "ok", "and the next call is a trial"


@open_to_half_open
def test_open_timeout_uses_the_injected_clock(target):
    breaker, clock = make(target, start=123_456.0, failure_threshold=1, open_timeout=2)
    trip(breaker)
    assert breaker.state == "open", "no time has passed on the injected clock"
    clock.advance(2)
    assert breaker.state == "half_open", "2 s on the injected clock must end a 2 s open_timeout"


@open_to_half_open
def test_default_open_timeout_is_thirty_seconds(target):
    breaker, clock = make(target, failure_threshold=1)
    trip(breaker)
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


@half_open
def test_closing_resets_the_success_count(target):
    breaker, clock = half_opened(target, failure_threshold=1, success_threshold=2)
    succeed(breaker, 2)
    assert breaker.state == "closed"
    trip(breaker)
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


@half_open
def test_default_success_threshold_is_two_with_one_trial_at_a_time(target):
    breaker, clock = make(target, failure_threshold=1, open_timeout=1)
    trip(breaker)
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
    return "state?" if op == "state" else "ok" if op == "success" else "fail"


# The model grades the half-open rules only; the rules other cells grade are stepped around:
# a closed circuit is tripped (counting is closed_to_open's), calls that take no time (opened_at is read
# when a call ends: open_to_half_open's), timeouts of n + 1/8 that steps of 1/4 never land on
# exactly (the boundary: open_to_half_open's), and no calls while open (rejections: errors').
@half_open
@GRADING
@given(success_threshold=st.integers(1, 3), open_timeout=st.sampled_from([0.125, 1.125, 2.125, 4.125]),
       half_open_max_calls=st.integers(1, 2), ops=_ops)
def test_matches_reference_model_on_random_sequences(target, success_threshold, open_timeout,
                                                     half_open_max_calls, ops):
    error = open_error(target)
    clock = Clock(1000.0)
    breaker = target(failure_threshold=1, success_threshold=success_threshold,
                     open_timeout=open_timeout, half_open_max_calls=half_open_max_calls, clock=clock)
    model = Model(1, success_threshold, open_timeout)
    history = []
    for op, k in ops:
        where = f" after: {', '.join(history) or 'nothing'} (failure_threshold=1, " \
                f"success_threshold={success_threshold}, open_timeout={open_timeout:g})"
        if (op, k) != ("wait", 0):
            history.append(_describe(op, k))
        if op == "wait":
            clock.advance(k * 0.25)
            continue
        want = model.read(clock.now)
        if op == "state" or want == "open":
            assert breaker.state == want, f"state must be {want!r}{where}"
            continue
        if want == "closed" and op == "failure":
            trip(breaker)  # how many failures that takes is graded by closed_to_open
            model.finished(want, False, clock.now)
            continue
        problem = Boom(op)

        def fn(success=op == "success", problem=problem):
            if not success:
                raise problem
            return "done"

        try:
            result = breaker.call(fn)
        except Boom as exc:
            assert exc is problem and op == "failure", f"call() must re-raise exactly what fn raised{where}"
        except error:
            pytest.fail(f"this call must run (the circuit is {want}){where}")
        else:
            assert op == "success" and result == "done", \
                f"call() must return what fn returned, and re-raise what it raised{where}"
        model.finished(want, op == "success", clock.now)


# -- calls that outlive their period ------------------------------------------------------------
# Every transition starts a new period. A call that started in one period and finishes in another
# is ignored: it neither counts nor frees a slot. Calls are kept in flight by nesting.
def _open_during(breaker, clock, *, then_wait):
    """Open the circuit inside the running call, then wait; returns the state right after opening."""
    trip(breaker)
    opened_state = breaker.state
    clock.advance(then_wait)
    return opened_state


@late_calls
def test_late_failure_of_a_call_started_closed_does_not_move_opened_at(target):
    breaker, clock = make(target, failure_threshold=1, open_timeout=4)

    def slow_call():
        _open_during(breaker, clock, then_wait=1)
        raise Boom("started while closed, failed after the circuit opened")

    with pytest.raises(Boom):
        admitted(breaker, slow_call)
    clock.advance(2.75)
    assert breaker.state == "open"
    clock.advance(0.25 + PAST)
    assert breaker.state == "half_open", \
        "the slow call started while closed and failed after the circuit opened: it must be ignored, " \
        "not re-open the circuit (opened_at stays when the other call failed)"


@late_calls
def test_late_failure_of_a_call_started_closed_does_not_re_open_a_half_open_circuit(target):
    breaker, clock = make(target, failure_threshold=1, success_threshold=1, open_timeout=4)
    seen = []

    def slow_call():
        seen.append(_open_during(breaker, clock, then_wait=4 + PAST))
        seen.append(breaker.state)
        raise Boom("started while closed, failed after the circuit half-opened")

    with pytest.raises(Boom):
        admitted(breaker, slow_call)
    assert seen == ["open", "half_open"], "the circuit opened, then half-opened while the slow call ran"
    assert breaker.state == "half_open", \
        "a call that started while closed and failed after the circuit half-opened is ignored: still half_open"
    succeed(breaker)
    assert breaker.state == "closed", "and the trial slot is still free for a real trial"


@late_calls
def test_late_success_of_a_call_started_closed_is_not_a_trial(target):
    breaker, clock = make(target, failure_threshold=1, success_threshold=1, open_timeout=4)

    def slow_call():
        _open_during(breaker, clock, then_wait=4 + PAST)
        return "started while closed, succeeded after the circuit half-opened"

    admitted(breaker, slow_call)
    assert breaker.state == "half_open", \
        "a call that started while closed is not a trial: its late success must not close the circuit"


@late_calls
def test_late_failure_does_not_count_in_a_later_closed_period(target):
    breaker, clock = make(target, failure_threshold=2, success_threshold=1, open_timeout=4)
    seen = []

    def slow_call():
        trip(breaker)  # the circuit opens...
        clock.advance(4 + PAST)
        succeed(breaker)  # ...a trial closes it again...
        failures(breaker)  # ...and a new closed period has one failure
        seen.append(breaker.state)
        raise Boom("started in the old closed period")

    with pytest.raises(Boom):
        admitted(breaker, slow_call)
    if seen != ["closed"]:
        return  # closing did not reset the failure count: graded with the half-open rules
    assert breaker.state == "closed", \
        "the slow call started in an earlier closed period: its failure must not count in this one"


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


@late_calls
def test_stale_trial_success_after_re_opening_is_ignored(target):
    breaker, clock = half_opened(target, success_threshold=1, half_open_max_calls=2, open_timeout=4)
    seen = _trial_outlived_by_a_failed_one(target, breaker, clock)
    if seen != ["open"]:
        return  # trial B did not re-open the circuit: graded with the half-open rules
    assert breaker.state == "open", \
        "trial A finished after the circuit re-opened: it must be ignored, not close the circuit"
    clock.advance(3.75)
    assert breaker.state == "open", "nor may it move opened_at"
    clock.advance(PAST)
    assert breaker.state == "half_open"


@late_calls
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


@late_calls
def test_stale_trial_is_not_counted_in_a_later_half_open_period(target):
    breaker, clock = half_opened(target, success_threshold=2, half_open_max_calls=2, open_timeout=4)
    seen = _trial_outlived_by_a_failed_one(target, breaker, clock, then_wait=4 + PAST)
    if seen != ["open", "half_open"]:
        return  # trial B did not re-open the circuit for open_timeout: graded with the half-open rules
    assert breaker.state == "half_open"
    succeed(breaker)
    assert breaker.state == "half_open", \
        "trial A belongs to the previous half-open period: only one trial of this one has succeeded"
    succeed(breaker)
    assert breaker.state == "closed"


def _three_nested_trials(target, breaker):
    """What became of a third trial started while two are in flight."""
    log = []

    def second():
        try:
            breaker.call(lambda: log.append("third ran"))
        except open_error(target):
            log.append("third rejected")

    admitted(breaker, lambda: breaker.call(second))
    return log


@late_calls
def test_stale_trial_does_not_free_a_slot_of_a_later_half_open_period(target):
    twin, _ = half_opened(target, success_threshold=5, half_open_max_calls=2, open_timeout=4)
    if _three_nested_trials(target, twin) != ["third rejected"]:
        return  # no in-flight limit even without a stale trial: graded with the half-open rules
    breaker, clock = half_opened(target, success_threshold=5, half_open_max_calls=2, open_timeout=4)
    _trial_outlived_by_a_failed_one(target, breaker, clock, then_wait=4 + PAST)
    assert _three_nested_trials(target, breaker) == ["third rejected"], \
        "trial A (from an earlier period) must not free a slot: still only 2 trials in flight at once"


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
        try:
            breaker.call(ran.append, "half_open and full")
        except open_error(target):
            pass
        else:
            ran.clear()  # admitted: the in-flight limit is graded with the half-open rules
        return "trial"

    assert admitted(breaker, trial) == "trial"
    assert ran == [], "fn must not run when the call is rejected (open, or half-open with every slot taken)"


@errors
@pytest.mark.parametrize("waited", [0, 1.25, 3.75])
def test_retry_after_is_the_time_left_until_a_trial_is_admitted(target, waited):
    breaker, clock = opened(target, open_timeout=4)
    clock.advance(waited)
    with pytest.raises(open_error(target)) as info:
        breaker.call(ok)
    left = info.value.retry_after
    assert isinstance(left, int | float) and not math.isnan(left), f"retry_after must be seconds, got {left!r}"
    assert left == 4 - waited, \
        f"{waited:g} s after opening with open_timeout 4 a trial is admitted in {4 - waited:g} s: " \
        f"retry_after must be {4 - waited:g}, got {left!r}"


@errors
def test_retry_after_is_zero_while_every_trial_slot_is_busy(target):
    breaker, _ = half_opened(target, success_threshold=2)
    waits = []

    def trial():
        try:
            breaker.call(ok)
        except open_error(target) as exc:
            waits.append(exc.retry_after)
        return "trial"

    admitted(breaker, trial)
    if not waits:
        return  # the second trial was admitted: the in-flight limit is graded with the half-open rules
    assert waits == [0], \
        f"half-open with every trial slot busy, retry_after must be 0 (a slot frees the moment a trial ends), " \
        f"got {waits[0]!r}"


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
