"""Sharding: routers that map keys to shards, rebalancing plans, global IDs, cross-shard
queries, and a real Redis Cluster on loopback (lesson 05).

Every router has ``get_node(key)`` and ``nodes`` (plus ``add_node``/``remove_node`` where
that makes sense)::

    ring = ConsistentHashRing(["db-1", "db-2", "db-3"], vnodes=100)
    ring.get_node("user:1234")                    # -> "db-2"
    p = plan(ring_before, ring_after, keys)       # moves, moved_fraction vs ideal, loads
    ids = Snowflake(worker_id=7); ids.next_id()
    scatter_gather({"db-1": q1, "db-2": q2}, timeout=0.5)   # results + the shards that missed

Routers: :class:`RangeSharder`, :class:`ModuloSharder`, :class:`EntitySharder`,
:class:`GeoSharder` (region, then an inner router), :class:`ConsistentHashRing`,
:class:`RendezvousHash`, :class:`JumpHash` (and :func:`jump_hash`), :class:`Maglev`, and the
stateful :class:`BoundedLoadRing` (``assign``/``release``). The Redis Cluster launcher lives
in :mod:`highload.sharding.cluster` (it starts processes, so it is imported on demand).
"""

from .base import Router
from .bounded import BoundedLoadRing
from .hashing import HASHES, blake2b_64, crc32_64, md5_64
from .ids import DEFAULT_EPOCH_MS, ULID, ClockMovedBackwards, Snowflake, SnowflakeParts
from .jump import JumpHash, jump_hash
from .maglev import Maglev
from .plan import Move, Plan, peak_to_mean, plan
from .rendezvous import RendezvousHash
from .ring import ConsistentHashRing
from .scatter import Gathered, MapReduced, map_reduce, scatter_gather
from .simple import EntitySharder, GeoSharder, ModuloSharder, RangeSharder
from .slots import SLOTS, key_slot

__all__ = [
    "Router", "RangeSharder", "ModuloSharder", "EntitySharder", "GeoSharder",
    "ConsistentHashRing", "RendezvousHash", "JumpHash", "jump_hash", "Maglev", "BoundedLoadRing",
    "plan", "Plan", "Move", "peak_to_mean",
    "Snowflake", "SnowflakeParts", "ClockMovedBackwards", "DEFAULT_EPOCH_MS", "ULID",
    "scatter_gather", "Gathered", "map_reduce", "MapReduced",
    "key_slot", "SLOTS", "md5_64", "crc32_64", "blake2b_64", "HASHES",
]
