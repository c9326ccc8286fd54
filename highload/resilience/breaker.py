"""The circuit breaker: stop calling a dependency that keeps failing, and probe it before trusting it again.

closed --(failures reach the threshold)--> open --(open_timeout passes)--> half_open
half_open --(success_threshold trials succeed)--> closed;  half_open --(a trial fails)--> open

Half-open admits at most ``half_open_max_calls`` trials *in flight*; a finished trial frees its
slot. (Counting admitted trials instead, as the OpenResty breaker from a widely copied nginx
guide does, can leave the circuit half-open forever when success_threshold >
half_open_max_calls + 1.) Each period of a
state is a new *generation*: a call that finishes in a later generation than it started is
ignored, so a slow trial from an old half-open period cannot close or re-open a newer one, and a
slow call that started while closed cannot re-open a circuit that opened meanwhile.

Events and threads: events are queued under the breaker's lock, in the order the breaker
decided them, and delivered outside it by one thread at a time, oldest first. So every
listener sees transitions in the order they happened (a valid walk of the state machine),
listeners of one breaker never run concurrently, and a listener may call the breaker (its
new events follow the current one). A call whose events another thread is already
delivering may return before its listeners have run.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import wraps
from typing import Any

from highload import _validate

from .config import BreakerConfig
from .errors import CircuitOpenError
from .events import Event, EventPublisher
from .metrics import BreakerMetrics, LatencyReservoir, transition_counts
from .windows import CountWindow, TimeWindow

__all__ = ["CircuitBreaker", "CircuitOpenError", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """A circuit breaker guarding one dependency (one upstream, not a whole pool).

    >>> from highload.clock import ManualClock
    >>> clock = ManualClock()
    >>> breaker = CircuitBreaker(failure_threshold=2, open_timeout=10, clock=clock)
    >>> breaker.state
    'closed'

    Use ``breaker.call(fn, ...)``, ``await breaker.acall(coro_fn, ...)`` or ``@breaker``.
    Rate-based windows, slow calls, exclusions and latency metrics come from the same
    keyword arguments as :class:`BreakerConfig`, or pass ``config=`` directly.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        success_threshold: int = 2,
        open_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
        *,
        name: str = "default",
        config: BreakerConfig | None = None,
        shared=None,
        **options: Any,
    ) -> None:
        if config is None:
            config = BreakerConfig(failure_threshold, success_threshold, open_timeout, half_open_max_calls,
                                   **options)
        elif options:
            raise TypeError(f"pass settings either in config= or as keywords, not both: {sorted(options)}")
        clock = _validate.clock(clock)
        self.config, self.name, self._clock = config, name, clock
        self.events = EventPublisher()
        self._lock = threading.Lock()
        self._state, self._opened_at, self._open_until, self._generation = CLOSED, 0.0, 0.0, 0
        self._failures = self._trial_successes = self._in_flight = 0
        self._window = {"consecutive": None, "count": CountWindow, "time": TimeWindow}[config.window]
        self._window = self._window(config.window_size) if self._window else None
        self._latency = LatencyReservoir(config.latency_samples) if config.record_latency else None
        self._successes = self._failed = self._ignored = self._rejections = 0
        self._transitions: Counter = Counter()
        self._created = clock()
        self._shared = shared
        self._pending: list[Event] = []  # events decided under the lock, published after it
        self._delivering = False  # a thread is publishing _pending; others leave it to that thread
        self._refresh_fast_path()

    @classmethod
    def from_config(cls, config: BreakerConfig, *, name: str = "default",
                    clock: Callable[[], float] = time.monotonic, shared=None) -> CircuitBreaker:
        return cls(clock=clock, name=name, config=config, shared=shared)

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r}, state={self.state!r})"

    # -- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """"closed", "open" or "half_open"; an open circuit whose timeout has passed reads half_open."""
        with self._lock:
            state = self._advance(self._clock())
        self._flush_events()
        return state

    @property
    def opened_at(self) -> float:
        """The clock reading when the circuit last opened."""
        return self._opened_at

    def _advance(self, now: float) -> str:
        # Called with the lock held: open turns half_open lazily, on the first look after the timeout.
        if self._shared is not None:
            self._shared.sync(self, now)
        if self._state == OPEN and now - self._opened_at >= self.config.open_timeout:
            self._transition(HALF_OPEN, now)
        return self._state

    def _transition(self, to: str, now: float, *, publish_shared: bool = True) -> None:
        previous, self._state = self._state, to
        self._generation += 1
        self._trial_successes = self._in_flight = self._failures = 0
        if to == OPEN:
            self._opened_at = now
            self._open_until = now + self.config.open_timeout
        elif to == CLOSED and self._window is not None:
            self._window.reset()
        self._transitions[(previous, to)] += 1
        self._refresh_fast_path()
        if self._shared is not None and publish_shared:
            self._shared.publish(self, to, now)
        if self.events.wants("transition"):
            self._pending.append(Event(self.name, "transition", now, detail={"from": previous, "to": to}))

    def _refresh_fast_path(self) -> None:
        # The closed path skips the lock and the clock when nothing needs a time or a window.
        events = self.events
        quiet = not (events.all or events.kinds & {"success", "failure", "rejected"})
        self._fast = (
            self._state == CLOSED and self._window is None and self._shared is None and quiet
        )
        # An open circuit rejects without the lock until its timeout; then _admit half-opens it.
        self._fast_open = self._state == OPEN and self._shared is None and quiet

    def subscribe(self, listener: Callable[[Event], None], *kinds: str) -> Callable[[], None]:
        """Receive events ("transition", "success", "failure", "ignored", "rejected"); returns an unsubscribe."""
        unsubscribe = self.events.subscribe(listener, *kinds)
        with self._lock:
            self._refresh_fast_path()

        def undo() -> None:
            unsubscribe()
            with self._lock:
                self._refresh_fast_path()

        return undo

    def _flush_events(self) -> None:
        # One deliverer at a time, so batches taken by two threads cannot be published out of
        # order; the deliverer re-checks under the lock before it stops, so no event is stranded.
        if not self._pending:
            return
        with self._lock:
            if self._delivering or not self._pending:
                return
            self._delivering = True
            pending, self._pending = self._pending, []
        try:
            while pending:
                for event in pending:
                    self.events.publish(event)
                with self._lock:
                    pending, self._pending = self._pending, []
                    self._delivering = bool(pending)
        except BaseException:  # publish() already contains a listener's Exception; this is e.g. Ctrl-C
            with self._lock:
                self._delivering = False
            raise

    # -- admission and outcome -------------------------------------------------------------------
    def _admit(self) -> tuple[int, bool, float]:
        with self._lock:
            now = self._clock()
            state = self._advance(now)
            if state == CLOSED:
                return self._generation, False, now
            if state == HALF_OPEN and self._in_flight < self.config.half_open_max_calls:
                self._in_flight += 1
                return self._generation, True, now
            self._rejections += 1
            wait = self._opened_at + self.config.open_timeout - now if state == OPEN else 0.0
            if self.events.wants("rejected"):
                self._pending.append(Event(self.name, "rejected", now, detail={"state": state}))
        self._flush_events()
        raise CircuitOpenError(self.name, wait, state)

    def _finish(self, generation: int, trial: bool, error: BaseException | None, start: float | None) -> None:
        config = self.config
        failed = error is not None and config.counts_as_failure(error)
        with self._lock:
            now = self._clock()
            if generation != self._generation:
                return  # finished after its state period ended: it counts for nothing
            if trial:
                self._in_flight -= 1
            duration = None if start is None else now - start
            if error is not None and not failed:
                self._ignored += 1
                self._record_event("ignored", now, duration, error)
            else:
                self._record(failed, now, duration, error)
        self._flush_events()

    def _record(self, failed: bool, now: float, duration: float | None, error: BaseException | None) -> None:
        config = self.config
        if self._latency is not None and duration is not None:
            self._latency.add(duration)
        if failed:
            self._failed += 1
        else:
            self._successes += 1
        self._record_event("failure" if failed else "success", now, duration, error)
        if self._state == HALF_OPEN:
            if failed:
                self._transition(OPEN, now)
            else:
                self._trial_successes += 1
                if self._trial_successes >= config.success_threshold:
                    self._transition(CLOSED, now)
        elif self._window is None:
            self._failures = self._failures + 1 if failed else 0
            if self._failures >= config.failure_threshold:
                self._transition(OPEN, now)
        else:
            slow = duration is not None and duration >= config.slow_call_duration
            self._window.record(failed, slow, now)
            if self._window.over(config.minimum_calls, config.failure_rate_threshold,
                                 config.slow_call_rate_threshold):
                self._transition(OPEN, now)

    def _record_event(self, kind: str, now: float, duration: float | None, error: BaseException | None) -> None:
        if self.events.wants(kind):
            detail = {"error": repr(error)} if error is not None else {}
            self._pending.append(Event(self.name, kind, now, duration, detail))

    def _fast_success(self, generation: int) -> None:
        self._successes += 1  # a lost increment under heavy thread contention only skews a counter
        if self._failures:
            with self._lock:
                if generation == self._generation:
                    self._failures = 0

    # -- the three ways to call ------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` through the breaker; raises :class:`CircuitOpenError` when not admitted."""
        if self._fast:
            generation, latency = self._generation, self._latency
            if latency is not None:
                start = self._clock()
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                # A failure's duration (often a timeout) belongs in the latency percentiles too.
                self._finish(generation, False, error, start if latency is not None else None)
                raise
            if latency is not None:
                latency.add(self._clock() - start)  # deque.append is atomic: no lock needed
            self._fast_success(generation)
            return result
        if self._fast_open:
            wait = self._open_until - self._clock()
            if wait > 0:
                self._rejections += 1
                raise CircuitOpenError(self.name, wait, OPEN)
        generation, trial, start = self._admit()
        try:
            result = fn(*args, **kwargs)
        except BaseException as error:
            self._finish(generation, trial, error, start)
            raise
        self._finish(generation, trial, None, start)
        return result

    async def acall(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The asyncio twin of :meth:`call`: ``fn`` is awaited."""
        if self._fast:
            generation, latency = self._generation, self._latency
            if latency is not None:
                start = self._clock()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as error:
                # A failure's duration (often a timeout) belongs in the latency percentiles too.
                self._finish(generation, False, error, start if latency is not None else None)
                raise
            if latency is not None:
                latency.add(self._clock() - start)
            self._fast_success(generation)
            return result
        if self._fast_open:
            wait = self._open_until - self._clock()
            if wait > 0:
                self._rejections += 1
                raise CircuitOpenError(self.name, wait, OPEN)
        generation, trial, start = self._admit()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as error:
            self._finish(generation, trial, error, start)
            raise
        self._finish(generation, trial, None, start)
        return result

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator use: ``@breaker`` on a function or a coroutine function."""
        if inspect.iscoroutinefunction(fn):
            @wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                return await self.acall(fn, *args, **kwargs)

            return guarded_async

        @wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            return self.call(fn, *args, **kwargs)

        return guarded

    # -- operations ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Force the circuit closed (an operator's override)."""
        with self._lock:
            if self._state != CLOSED:
                self._transition(CLOSED, self._clock())
        self._flush_events()

    def force_open(self) -> None:
        """Force the circuit open now (e.g. planned maintenance of the dependency)."""
        with self._lock:
            self._transition(OPEN, self._clock())
        self._flush_events()

    def metrics(self) -> BreakerMetrics:
        with self._lock:
            now = self._clock()
            state = self._advance(now)
            latency = self._latency
            snapshot = BreakerMetrics(
                name=self.name, state=state, calls=self._successes + self._failed + self._ignored,
                successes=self._successes, failures=self._failed, ignored=self._ignored,
                rejections=self._rejections, seconds=now - self._created,
                transitions=transition_counts(self._transitions),
                p50=latency and latency.percentile(0.5), p95=latency and latency.percentile(0.95),
                p99=latency and latency.percentile(0.99),
            )
        self._flush_events()
        return snapshot
