"""Global IDs without a coordinator: Snowflake (Twitter, 2010) and ULID.

Snowflake: 41 bits of milliseconds since a custom epoch | 10 bits of worker | 12 bits of
sequence. IDs from one worker increase; IDs from different workers never collide; sorting
by ID sorts by time to the millisecond. ULID: 48 bits of milliseconds + 80 random bits,
26 Crockford base-32 characters; no worker id to hand out, collisions only by chance.
"""

from __future__ import annotations

import os
import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass

from .base import check_int

__all__ = ["Snowflake", "SnowflakeParts", "ClockMovedBackwards", "ULID", "DEFAULT_EPOCH_MS"]

#: 2020-01-01T00:00:00Z: a custom epoch leaves 41 bits (~69 years) for the future.
DEFAULT_EPOCH_MS = 1_577_836_800_000
_WORKER_BITS, _SEQ_BITS, _TIME_BITS = 10, 12, 41
_MAX_WORKER, _MAX_SEQ = (1 << _WORKER_BITS) - 1, (1 << _SEQ_BITS) - 1


class ClockMovedBackwards(RuntimeError):
    """The clock went back further than the generator is willing to wait out."""


@dataclass(frozen=True)
class SnowflakeParts:
    timestamp_ms: int  # since the Unix epoch
    worker: int
    sequence: int


class _WallClock:
    def __call__(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Snowflake:
    """``Snowflake(worker_id, epoch_ms=DEFAULT_EPOCH_MS, clock=None, max_backwards_ms=10)``.

    ``clock`` returns *wall* seconds (IDs carry calendar time) and may have ``sleep``;
    a ``ManualClock`` set to a Unix time makes it deterministic. When the clock goes
    backwards by at most ``max_backwards_ms`` the generator waits until it catches up;
    further back raises :class:`ClockMovedBackwards` (issuing IDs would risk duplicates).
    When 4096 IDs are used up in one millisecond, it waits for the next one.
    """

    def __init__(self, worker_id: int, *, epoch_ms: int = DEFAULT_EPOCH_MS,
                 clock: Callable[[], float] | None = None, max_backwards_ms: int = 10) -> None:
        check_int("worker_id", worker_id, 0)
        if worker_id > _MAX_WORKER:
            raise ValueError(f"worker_id must be <= {_MAX_WORKER}, got {worker_id}")
        check_int("epoch_ms", epoch_ms, 0)
        check_int("max_backwards_ms", max_backwards_ms, 0)
        self.worker_id, self.epoch_ms, self.max_backwards_ms = worker_id, epoch_ms, max_backwards_ms
        self.clock = clock if clock is not None else _WallClock()
        self._last_ms = -1
        self._seq = 0
        self.waits = 0  # how often it waited (backwards clock or a full millisecond)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _wait_until(self, target_ms: int) -> int:
        sleep = getattr(self.clock, "sleep", time.sleep)
        now = self._now_ms()
        while now < target_ms:
            self.waits += 1
            sleep((target_ms - now) / 1000)
            now = self._now_ms()
        return now

    def next_id(self) -> int:
        now = self._now_ms()
        if now < self._last_ms:
            if self._last_ms - now > self.max_backwards_ms:
                raise ClockMovedBackwards(
                    f"clock moved back {self._last_ms - now} ms (> max_backwards_ms={self.max_backwards_ms}); "
                    "refusing to issue IDs that could repeat")
            now = self._wait_until(self._last_ms)
        if now == self._last_ms:
            self._seq = (self._seq + 1) & _MAX_SEQ
            if self._seq == 0:  # 4096 IDs this millisecond: take the next one
                now = self._wait_until(self._last_ms + 1)
        else:
            self._seq = 0
        self._last_ms = now
        elapsed = now - self.epoch_ms
        if not 0 <= elapsed < (1 << _TIME_BITS):
            raise ValueError(f"time {now} ms is outside the 41-bit range after epoch {self.epoch_ms}")
        return (elapsed << (_WORKER_BITS + _SEQ_BITS)) | (self.worker_id << _SEQ_BITS) | self._seq

    __call__ = next_id

    def parse(self, snowflake: int) -> SnowflakeParts:
        return SnowflakeParts(
            timestamp_ms=(snowflake >> (_WORKER_BITS + _SEQ_BITS)) + self.epoch_ms,
            worker=(snowflake >> _SEQ_BITS) & _MAX_WORKER,
            sequence=snowflake & _MAX_SEQ,
        )


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ULID:
    """``ULID(clock=None, rng=None, monotonic=True)``; ``new()`` -> 26-char str.

    With ``monotonic=True`` two ULIDs from one generator in the same millisecond differ by
    +1 in their random part, so they still sort in creation order.
    """

    def __init__(self, clock: Callable[[], float] | None = None, rng: _random.Random | None = None,
                 monotonic: bool = True) -> None:
        self.clock = clock if clock is not None else time.time
        self._random = (lambda: rng.getrandbits(80)) if rng is not None else (
            lambda: int.from_bytes(os.urandom(10), "big"))
        self.monotonic = monotonic
        self._last_ms, self._last_rand = -1, 0

    def new(self) -> str:
        ms = int(self.clock() * 1000)
        if self.monotonic and ms <= self._last_ms:
            ms, rand = self._last_ms, self._last_rand + 1
            if rand >= 1 << 80:
                raise OverflowError("ULID random part overflowed within one millisecond")
        else:
            rand = self._random()
        self._last_ms, self._last_rand = ms, rand
        return encode_ulid(ms, rand)

    __call__ = new


def encode_ulid(ms: int, rand: int) -> str:
    value = (ms << 80) | rand
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def ulid_time_ms(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 32 + _CROCKFORD.index(ch)
    return value >> 80
