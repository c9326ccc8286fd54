"""Plausible wrong answers to the consistent-hashing exercise.

``GoodRing`` and ``good_jump`` are standalone correct answers (they never import highload);
each broken variant differs from them in exactly one mistake a student might make.
``sharding(...)`` builds the module-like target with one of the two names swapped.
"""

from __future__ import annotations

import types
from bisect import bisect_left, bisect_right
from hashlib import md5


def _md5(text):
    return int.from_bytes(md5(text.encode()).digest()[:8], "big")


class GoodRing:
    def __init__(self, nodes=(), vnodes=100, hash_fn=None):
        if isinstance(vnodes, bool) or not isinstance(vnodes, int):
            raise TypeError("vnodes must be an int")
        if vnodes < 1:
            raise ValueError("vnodes must be >= 1")
        self.vnodes, self.hash_fn = vnodes, hash_fn or _md5
        self._nodes, self._ring = set(), []
        for node in nodes:
            self.add_node(node)

    @property
    def nodes(self):
        return set(self._nodes)

    def _check(self, node):
        if not isinstance(node, str):
            raise TypeError("node names must be str")

    def add_node(self, node):
        self._check(node)
        if node in self._nodes:
            raise ValueError(f"{node} present")
        self._nodes.add(node)
        self._ring = sorted(self._ring + [(self.hash_fn(f"{node}#{i}"), node) for i in range(self.vnodes)])

    def remove_node(self, node):
        if node not in self._nodes:
            raise ValueError(f"{node} absent")
        self._nodes.discard(node)
        self._ring = [p for p in self._ring if p[1] != node]

    def _hash_key(self, key):
        return self.hash_fn(key if isinstance(key, str) else str(key))

    def _index(self, h):
        return bisect_left(self._ring, (h, ""))

    def get_node(self, key):
        if not self._ring:
            raise LookupError("empty ring")
        i = self._index(self._hash_key(key))
        return self._ring[i % len(self._ring)][1]


def good_jump(key, buckets):
    for value in (key, buckets):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("key and buckets must be int")
    if not 0 <= key < 2**64 or not 1 <= buckets <= 2**31 - 1:
        raise ValueError("out of range")
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) % 2**64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


# -- wrong rings ----------------------------------------------------------------------------------
class LittleEndian(GoodRing):
    def __init__(self, nodes=(), vnodes=100, hash_fn=None):
        super().__init__(nodes, vnodes, hash_fn or (lambda t: int.from_bytes(md5(t.encode()).digest()[:8], "little")))


class StrictlyAfter(GoodRing):
    def _index(self, h):  # the first vnode strictly after the key: a key on a vnode skips it
        return bisect_right(self._ring, (h, "\U0010ffff"))


class TiesToLast(GoodRing):
    def add_node(self, node):
        super().add_node(node)
        self._ring.sort(key=lambda p: (p[0], [-ord(c) for c in p[1]]))


class DashLabels(GoodRing):
    def add_node(self, node):
        self._check(node)
        if node in self._nodes:
            raise ValueError(node)
        self._nodes.add(node)
        self._ring = sorted(self._ring + [(self.hash_fn(f"{node}-{i}"), node) for i in range(self.vnodes)])


class ReprKeys(GoodRing):
    def _hash_key(self, key):  # repr, not str: "1234" and 1234 agree, but "a" becomes "'a'"
        return self.hash_fn(repr(key))


class BoolVnodes(GoodRing):
    def __init__(self, nodes=(), vnodes=100, hash_fn=None):
        super().__init__(nodes, int(vnodes) if isinstance(vnodes, bool) else vnodes, hash_fn)


class AnyNodeName(GoodRing):
    def _check(self, node):
        pass


class NodesIsInternal(GoodRing):
    @property
    def nodes(self):
        return self._nodes


class AddTwiceIgnored(GoodRing):
    def add_node(self, node):
        if node not in self._nodes:
            super().add_node(node)


class RemoveAbsentIgnored(GoodRing):
    def remove_node(self, node):
        if node in self._nodes:
            super().remove_node(node)


class EmptyRingNone(GoodRing):
    def get_node(self, key):
        return super().get_node(key) if self._ring else None


class ModuloNodes(GoodRing):
    def get_node(self, key):  # "hash % N" over sorted nodes: balanced, but moves most keys
        if not self._nodes:
            raise LookupError("empty")
        return sorted(self._nodes)[self._hash_key(key) % len(self._nodes)]


class VnodesZeroAllowed(GoodRing):
    def __init__(self, nodes=(), vnodes=100, hash_fn=None):
        if vnodes == 0:
            vnodes = 1
        super().__init__(nodes, vnodes, hash_fn)


BROKEN_RINGS = [LittleEndian, StrictlyAfter, TiesToLast, DashLabels, ReprKeys, BoolVnodes, AnyNodeName,
                NodesIsInternal, AddTwiceIgnored, RemoveAbsentIgnored, EmptyRingNone, ModuloNodes,
                VnodesZeroAllowed]


# -- wrong jump hashes ----------------------------------------------------------------------------
def no_wrap(key, buckets):
    good_jump(key, buckets)
    b, j = -1, 0
    while j < buckets:  # Python ints never overflow: without % 2**64 the key just grows
        b = j
        key = key * 2862933555777941757 + 1
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def loop_once_more(key, buckets):
    good_jump(key, buckets)
    b, j = -1, 0
    while j <= buckets:  # <= instead of <: one jump too many, sometimes past the last bucket
        b = j
        key = (key * 2862933555777941757 + 1) % 2**64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def bool_accepted(key, buckets):
    return good_jump(int(key), int(buckets))


def no_range_check(key, buckets):
    if isinstance(key, bool) or isinstance(buckets, bool) or not isinstance(key, int) or not isinstance(buckets, int):
        raise TypeError("int")
    if buckets < 1:
        raise ValueError("buckets")
    return good_jump(key % 2**64, min(buckets, 2**31 - 1))


def floats_accepted(key, buckets):
    return good_jump(int(key), int(buckets)) if not isinstance(key, (bool, str)) and key is not None \
        and buckets is not None and not isinstance(buckets, (bool, str)) else good_jump(key, buckets)


def modulo_buckets(key, buckets):
    good_jump(key, buckets)
    return key % buckets


BROKEN_JUMPS = [no_wrap, loop_once_more, bool_accepted, no_range_check, floats_accepted, modulo_buckets]


def sharding(ring=GoodRing, jump=good_jump):
    return types.SimpleNamespace(ConsistentHashRing=ring, jump_hash=jump)


GOOD_SHARDING = sharding()
