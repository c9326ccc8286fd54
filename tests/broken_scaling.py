"""Plausible wrong answers to the scaling exercises (balancing, carts, capacity).

``GoodSWRR``, ``GoodLeastConnections``, ``GoodCartStore`` and ``good_required_servers`` are
standalone correct answers (they never import highload). Each broken variant differs from them
in exactly one mistake a student might make. The balancing suite takes a module-like target:
``GOOD_BALANCING`` is a namespace with both classes, and ``balancing(...)`` swaps one of them.
"""

from __future__ import annotations

import math
import types
from fractions import Fraction

# -- balancing ------------------------------------------------------------------------------------


class GoodSWRR:
    def __init__(self, weights):
        if not weights:
            raise ValueError("weights must not be empty")
        if any(w < 1 for w in weights.values()):
            raise ValueError("every weight must be >= 1")
        self.weights = {name: weights[name] for name in weights}
        self.total = sum(self.weights.values())
        self.current = dict.fromkeys(self.weights, 0)

    def _grow(self):
        for name, weight in self.weights.items():
            self.current[name] += weight

    def _best(self):
        return max(self.current, key=self.current.__getitem__)

    def next(self):
        self._grow()
        best = self._best()
        self.current[best] -= self.total
        return best


class GoodLeastConnections:
    def __init__(self, servers):
        self.servers = list(servers)
        self.counts = dict.fromkeys(self.servers, 0)

    def acquire(self):
        server = min(self.servers, key=self.counts.__getitem__)
        self.counts[server] += 1
        return server

    def release(self, server):
        if self.counts.get(server, 0) < 1:
            raise ValueError(f"{server!r} has no active connections")
        self.counts[server] -= 1

    def active(self, server):
        return self.counts[server]


def balancing(swrr=GoodSWRR, lc=GoodLeastConnections):
    """A module-like target, as a notebook would pass it."""
    return types.SimpleNamespace(SmoothWeightedRoundRobin=swrr, LeastConnections=lc)


GOOD_BALANCING = balancing()
#: The contract's names, so ``--target tests.broken_scaling`` is a correct module target.
SmoothWeightedRoundRobin, LeastConnections = GoodSWRR, GoodLeastConnections


class NoSubtract(GoodSWRR):
    def next(self):
        self._grow()
        return self._best()


class SWRRTiesToLast(GoodSWRR):
    def _best(self):
        top = max(self.current.values())
        return [name for name, value in self.current.items() if value == top][-1]


class WeightsNotValidated(GoodSWRR):
    def __init__(self, weights):
        self.weights = dict(weights)
        self.total = sum(self.weights.values())
        self.current = dict.fromkeys(self.weights, 0)


class PlainWeightedRoundRobin(GoodSWRR):
    """Classic WRR: all of a's turns, then all of b's (bursty, not smooth)."""

    def __init__(self, weights):
        super().__init__(weights)
        self.order = [name for name, weight in self.weights.items() for _ in range(weight)]
        self.i = -1

    def next(self):
        self.i = (self.i + 1) % len(self.order)
        return self.order[self.i]


class SortsByName(GoodSWRR):
    def _best(self):
        return max(sorted(self.current), key=self.current.__getitem__)


class SubtractsOwnWeight(GoodSWRR):
    def next(self):
        self._grow()
        best = self._best()
        self.current[best] -= self.weights[best]
        return best


class LCTiesToLast(GoodLeastConnections):
    def acquire(self):
        server = min(reversed(self.servers), key=self.counts.__getitem__)
        self.counts[server] += 1
        return server


class ReleaseBelowZero(GoodLeastConnections):
    def release(self, server):
        self.counts[server] -= 1


class AcquireNotCounting(GoodLeastConnections):
    def acquire(self):
        return min(self.servers, key=self.counts.__getitem__)


class ReleaseResetsToZero(GoodLeastConnections):
    def release(self, server):
        if self.counts[server] < 1:
            raise ValueError(server)
        self.counts[server] = 0


class RoundRobinIgnoresCounts(GoodLeastConnections):
    def __init__(self, servers):
        super().__init__(servers)
        self.i = -1

    def acquire(self):
        self.i = (self.i + 1) % len(self.servers)
        self.counts[self.servers[self.i]] += 1
        return self.servers[self.i]


class ReleaseRaisesKeyError(GoodLeastConnections):
    def release(self, server):
        if self.counts[server] < 1:
            raise KeyError(server)
        self.counts[server] -= 1


BROKEN_SWRR = [NoSubtract, SWRRTiesToLast, WeightsNotValidated, PlainWeightedRoundRobin, SortsByName,
               SubtractsOwnWeight]
BROKEN_LC = [LCTiesToLast, ReleaseBelowZero, AcquireNotCounting, ReleaseResetsToZero, RoundRobinIgnoresCounts,
             ReleaseRaisesKeyError]


# -- carts ----------------------------------------------------------------------------------------


class GoodCartStore:
    def __init__(self, redis, ttl):
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0, got {ttl!r}")
        self.redis, self.ttl = redis, ttl

    @staticmethod
    def key(cart_id):
        return f"cart:{cart_id}"

    def _ttl_ms(self):
        return max(1, int(self.ttl * 1000))

    @staticmethod
    def _check(qty):
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            raise ValueError(f"qty must be a positive int, got {qty!r}")

    def _refresh(self, pipe, key):
        pipe.pexpire(key, self._ttl_ms())

    def add_item(self, cart_id, sku, qty=1):
        self._check(qty)
        key = self.key(cart_id)
        pipe = self.redis.pipeline()
        pipe.hincrby(key, sku, qty)
        self._refresh(pipe, key)
        return int(pipe.execute()[0])

    def _decrement(self, key, sku, qty):
        if self.redis.hincrby(key, sku, -qty) <= 0:
            self.redis.hdel(key, sku)

    def remove_item(self, cart_id, sku, qty=None):
        key = self.key(cart_id)
        if qty is None:
            self.redis.hdel(key, sku)
        else:
            self._check(qty)
            self._decrement(key, sku, qty)
        pipe = self.redis.pipeline()
        self._refresh(pipe, key)
        pipe.execute()

    def get_cart(self, cart_id):
        return {_text(sku): int(qty) for sku, qty in self.redis.hgetall(self.key(cart_id)).items()}

    def clear(self, cart_id):
        self.redis.delete(self.key(cart_id))


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


class NoTtl(GoodCartStore):
    def _refresh(self, pipe, key):
        pass


class TtlOnlyOnFirstAdd(GoodCartStore):
    def add_item(self, cart_id, sku, qty=1):
        self._check(qty)
        key = self.key(cart_id)
        new = not self.redis.exists(key)
        quantity = self.redis.hincrby(key, sku, qty)
        if new:
            self.redis.pexpire(key, self._ttl_ms())
        return quantity


class RemoveDoesNotRefresh(GoodCartStore):
    def remove_item(self, cart_id, sku, qty=None):
        key = self.key(cart_id)
        if qty is None:
            self.redis.hdel(key, sku)
        else:
            self._check(qty)
            self._decrement(key, sku, qty)


class TtlInWholeSeconds(GoodCartStore):
    def _refresh(self, pipe, key):
        pipe.expire(key, int(self.ttl))


class BoolQtyAccepted(GoodCartStore):
    @staticmethod
    def _check(qty):
        if not isinstance(qty, int) or qty < 1:
            raise ValueError(qty)


class StrQtyAccepted(GoodCartStore):
    @staticmethod
    def _check(qty):
        if int(qty) < 1:  # int("2") is 2: a str slips through
            raise ValueError(qty)


class DecrementLeavesZero(GoodCartStore):
    def _decrement(self, key, sku, qty):
        if self.redis.hincrby(key, sku, -qty) < 0:
            self.redis.hdel(key, sku)


class DecrementLeavesNegative(GoodCartStore):
    def _decrement(self, key, sku, qty):
        if self.redis.hincrby(key, sku, -qty) == 0:
            self.redis.hdel(key, sku)


class BytesKeys(GoodCartStore):
    def get_cart(self, cart_id):
        return {sku: int(qty) for sku, qty in self.redis.hgetall(self.key(cart_id)).items()}


class LocalCopy(GoodCartStore):
    """Keeps the carts in process memory and only mirrors them to Redis: a second server is blind."""

    def __init__(self, redis, ttl):
        super().__init__(redis, ttl)
        self.carts = {}

    def add_item(self, cart_id, sku, qty=1):
        items = self.carts.setdefault(cart_id, {})
        items[sku] = super().add_item(cart_id, sku, qty)
        return items[sku]

    def get_cart(self, cart_id):
        return dict(self.carts.get(cart_id, {}))


class WrongKey(GoodCartStore):
    @staticmethod
    def key(cart_id):
        return f"cart:{cart_id}:items"


class TtlNotValidated(GoodCartStore):
    def __init__(self, redis, ttl):
        self.redis, self.ttl = redis, ttl


class RemoveQtyNotValidated(GoodCartStore):
    @staticmethod
    def _check(qty):
        pass

    def add_item(self, cart_id, sku, qty=1):
        GoodCartStore._check(qty)
        return super().add_item(cart_id, sku, qty)


class RemoveSetsZero(GoodCartStore):
    """remove_item(cart, sku) sets the quantity to 0 instead of deleting the sku."""

    def remove_item(self, cart_id, sku, qty=None):
        if qty is None:
            self.redis.hset(self.key(cart_id), sku, 0)
            self.redis.pexpire(self.key(cart_id), self._ttl_ms())
        else:
            super().remove_item(cart_id, sku, qty)


BROKEN_CARTS = [NoTtl, TtlOnlyOnFirstAdd, RemoveDoesNotRefresh, TtlInWholeSeconds, BoolQtyAccepted, StrQtyAccepted,
                DecrementLeavesZero, DecrementLeavesNegative, BytesKeys, LocalCopy, WrongKey, TtlNotValidated,
                RemoveQtyNotValidated, RemoveSetsZero]


# -- capacity -------------------------------------------------------------------------------------


def _validate(requests_per_day, peak_factor, capacity_per_server, headroom):
    if requests_per_day <= 0 or peak_factor <= 0 or capacity_per_server <= 0:
        raise ValueError("requests_per_day, peak_factor and capacity_per_server must be > 0")
    if not 0 <= headroom < 1:
        raise ValueError(f"headroom must be in [0, 1), got {headroom!r}")


def good_required_servers(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    _validate(requests_per_day, peak_factor, capacity_per_server, headroom)
    load = Fraction(requests_per_day) * Fraction(peak_factor)
    usable = 86400 * Fraction(capacity_per_server) * (1 - Fraction(headroom))
    return math.ceil(load / usable)


def _exact(requests_per_day, peak_factor, capacity_per_server, headroom):
    return Fraction(requests_per_day) * Fraction(peak_factor) / (
        86400 * Fraction(capacity_per_server) * (1 - Fraction(headroom)))


def floor_servers(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    _validate(requests_per_day, peak_factor, capacity_per_server, headroom)
    return math.floor(_exact(requests_per_day, peak_factor, capacity_per_server, headroom))


def rounds_servers(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    _validate(requests_per_day, peak_factor, capacity_per_server, headroom)
    return round(_exact(requests_per_day, peak_factor, capacity_per_server, headroom))


def plus_one(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    _validate(requests_per_day, peak_factor, capacity_per_server, headroom)
    return int(_exact(requests_per_day, peak_factor, capacity_per_server, headroom)) + 1


def headroom_multiplies_load(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    _validate(requests_per_day, peak_factor, capacity_per_server, headroom)
    return math.ceil(_exact(requests_per_day, peak_factor, capacity_per_server, 0) * (1 + Fraction(headroom)))


def not_divided_by_86400(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    _validate(requests_per_day, peak_factor, capacity_per_server, headroom)
    return math.ceil(86400 * _exact(requests_per_day, peak_factor, capacity_per_server, headroom))


def no_validation(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    return math.ceil(_exact(requests_per_day, peak_factor, capacity_per_server, headroom))


def headroom_one_allowed(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    if requests_per_day <= 0 or peak_factor <= 0 or capacity_per_server <= 0 or not 0 <= headroom <= 1:
        raise ValueError("bad input")
    return math.ceil(_exact(requests_per_day, peak_factor, capacity_per_server, headroom))


def negative_headroom_allowed(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    if requests_per_day <= 0 or peak_factor <= 0 or capacity_per_server <= 0 or headroom >= 1:
        raise ValueError("bad input")
    return math.ceil(_exact(requests_per_day, peak_factor, capacity_per_server, headroom))


def returns_float(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    return float(good_required_servers(requests_per_day, peak_factor, capacity_per_server, headroom))


def naive_float(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    """The contract's formula in floats: right except where rounding error crosses an integer."""
    _validate(requests_per_day, peak_factor, capacity_per_server, headroom)
    return math.ceil(requests_per_day / 86400 * peak_factor / (capacity_per_server * (1 - headroom)))


BROKEN_CAPACITY = [floor_servers, rounds_servers, plus_one, headroom_multiplies_load, not_divided_by_86400,
                   no_validation, headroom_one_allowed, negative_headroom_allowed, returns_float, naive_float]
