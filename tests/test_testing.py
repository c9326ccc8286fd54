"""highload.testing.all_at_once: every caller really overlaps, results come back in order, and no
failure or deadlock is lost. Events, not sleeps, prove the overlap."""

from __future__ import annotations

import threading

import pytest

from highload.testing import all_at_once


def test_results_come_back_in_thread_order():
    ids = iter(range(100))
    lock = threading.Lock()

    def call():
        with lock:
            return next(ids)

    assert sorted(all_at_once(call, threads=8)) == list(range(8))


def test_every_call_is_running_before_any_returns():
    # Each call waits until all 16 are inside: it can only finish if they truly overlap.
    inside = threading.Barrier(16, timeout=30)
    assert all_at_once(lambda: inside.wait() >= 0, threads=16) == [True] * 16


def test_failures_are_raised_together_after_every_thread_finished():
    finished = []
    lock = threading.Lock()

    def call():
        with lock:
            n = len(finished)
            finished.append(n)
        if n % 2:
            raise KeyError(n)
        return n

    with pytest.raises(ExceptionGroup, match="2 of 4 calls raised") as caught:
        all_at_once(call, threads=4)
    assert len(finished) == 4
    assert sorted(exc.args[0] for exc in caught.value.exceptions) == [1, 3]


def test_a_deadlock_fails_with_timeout_error_instead_of_hanging():
    never = threading.Event()
    try:
        # One thread: a barrier of one never waits, so only the stuck call can trip the timeout.
        with pytest.raises(TimeoutError, match="1 of 1 calls were still running"):
            all_at_once(never.wait, threads=1, timeout=0.05)
    finally:
        never.set()  # let the stuck threads end


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"call": "not callable"}, TypeError, "call must be a function"),
        ({"threads": 0}, ValueError, "threads"),
        ({"threads": 2.5}, TypeError, "threads"),
        ({"timeout": 0}, ValueError, "timeout"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, error, message):
    with pytest.raises(error, match=message):
        all_at_once(**{"call": lambda: None, **kwargs})
