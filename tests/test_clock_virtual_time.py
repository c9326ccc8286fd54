"""highload.clock.run_in_virtual_time: asyncio on a ManualClock, so async simulations never sleep."""

from __future__ import annotations

import asyncio

import pytest

from highload.clock import ManualClock, VirtualTimeLoop, run_in_virtual_time


def test_sleeps_advance_the_clock_instead_of_waiting():
    clock = ManualClock(100)

    async def main():
        await asyncio.sleep(5)
        first = clock()
        await asyncio.sleep(2.5)
        return first, clock()

    assert run_in_virtual_time(main, clock) == (105, 107.5)
    assert clock() == 107.5


def test_concurrent_tasks_interleave_by_their_timers():
    clock = ManualClock()
    order = []

    async def task(name, delay):
        await asyncio.sleep(delay)
        order.append((name, clock()))

    async def main():
        await asyncio.gather(task("slow", 3), task("fast", 1), task("middle", 2))

    run_in_virtual_time(main, clock)
    assert order == [("fast", 1), ("middle", 2), ("slow", 3)]


def test_a_semaphore_queues_in_virtual_time():
    clock = ManualClock()
    done = []

    async def job(sem):
        async with sem:
            await asyncio.sleep(1)
        done.append(clock())

    async def main():
        sem = asyncio.Semaphore(2)
        await asyncio.gather(*(job(sem) for _ in range(5)))

    run_in_virtual_time(main, clock)
    assert done == [1, 1, 2, 2, 3]


def test_it_returns_and_raises_what_the_coroutine_does():
    async def boom():
        await asyncio.sleep(1)
        raise KeyError("k")

    with pytest.raises(KeyError):
        run_in_virtual_time(boom, ManualClock())


def test_a_deadlock_raises_instead_of_hanging():
    async def forever():
        await asyncio.Event().wait()

    with pytest.raises(RuntimeError, match="stuck"):
        run_in_virtual_time(forever, ManualClock())


def test_it_runs_inside_a_running_event_loop_like_jupyters():
    clock = ManualClock()

    async def main():
        await asyncio.sleep(10)
        return clock()

    async def cell():
        return run_in_virtual_time(main, clock)

    assert asyncio.run(cell()) == 10


def test_it_needs_a_manual_clock_and_a_coroutine_function():
    with pytest.raises(TypeError, match="clock"):
        run_in_virtual_time(lambda: None, clock=lambda: 0.0)
    with pytest.raises(TypeError, match="main"):
        run_in_virtual_time(None, ManualClock())
    with pytest.raises(TypeError, match="clock"):
        VirtualTimeLoop(clock=None)
