"""``check_all`` on Redis Cluster, where limits' keys live in different slots.

On one Redis, ``check_all`` is one Lua script over every key: atomic, all or nothing. A cluster
runs a script only over keys of one slot, and one shared hash tag for the IP, user and global
limits would put every request on one slot, i.e. one node. So on a cluster:

1. group the keys by slot, and consume group by group in ascending slot order, each group with
   the one-Redis script (all or nothing inside the group);
2. when a group refuses, give the earlier groups their cost back (``lua/refund.lua``), and report
   every limit as refused.

It never over-admits: each group admits only what fits at that moment, and a refund returns only
what this call took (where a refund cannot tell exactly, it returns nothing). Under contention it
may deny spuriously: between a consume and its refund, another request can see the consumed
units and be refused. A refund that fails (an outage) leaves its cost consumed: tighter, never
looser. With ``server_time=True`` each slot reads its own node's clock; a refund on a window then
returns nothing if the window moved on in between.

Keys that share a slot cost one round trip, as on one Redis; ``k`` slots cost ``k`` round trips
when admitted, and ``k`` plus the refunds when refused (``check_all`` also reads the slots it
never reached, to report them).

The logic is written once, as a generator that yields ``(script, keys, argv)`` and receives each
reply (sans-IO): :func:`run` drives it with redis-py, :func:`arun` with redis-py's asyncio.
"""

from __future__ import annotations

from collections.abc import Generator

from highload._lua import aevalsha, evalsha

__all__ = ["check_many", "run", "arun"]


def _groups(client, keys: list[str]) -> list[list[int]]:
    """Indices of ``keys`` grouped by slot, groups in ascending slot order (the slot as the
    cluster client itself computes it to route the command)."""
    by_slot: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        by_slot.setdefault(client.keyslot(key), []).append(i)
    return [by_slot[s] for s in sorted(by_slot)]


def check_many(storage, items, keys: list[str], argv: list, brief: bool) -> Generator:
    """The slot-ordered check over ``items`` (``(view, key)`` pairs) whose Redis keys are ``keys``;
    ``argv`` is what the one-Redis script would take (``now, cost``, then 4 values per key).
    Returns the decisions (or, if ``brief``, the verdict)."""
    groups = _groups(storage.client, keys)
    multi = storage._multi_brief_script if brief else storage._multi_script
    settle = storage._settle_brief_script if brief else storage._settle_script
    now, cost = argv[0], argv[1]
    decisions: list = [None] * len(items)

    def args(group):
        return [keys[i] for i in group], [a for i in group for a in argv[2 + 4 * i: 6 + 4 * i]]

    def read(group, reply) -> bool:
        sub = [items[i] for i in group]
        if brief:
            return storage._brief(sub, reply)
        for i, decision in zip(group, storage._decisions(sub, reply), strict=True):
            decisions[i] = decision
        return decisions[group[0]].allowed

    taken: list[list[int]] = []
    refused = None
    for n, group in enumerate(groups):
        group_keys, group_argv = args(group)
        if not read(group, (yield multi, group_keys, [now, cost, *group_argv])):
            refused = n
            break
        taken.append(group)
    if refused is None:
        return True if brief else decisions
    # Give back what earlier slots took (newest first), then (check_all only) report the
    # slots never reached, as a check that takes nothing.
    rest = [] if brief else groups[refused + 1:]
    for group, give in [(g, b"1") for g in reversed(taken)] + [(g, b"0") for g in rest]:
        group_keys, group_argv = args(group)
        read(group, (yield settle, group_keys, [now, cost, give, *group_argv]))
    return False if brief else decisions


def run(steps: Generator):
    """Drive :func:`check_many` with redis-py (one EVALSHA per step)."""
    reply = None
    try:
        while True:
            script, keys, argv = steps.send(reply)
            reply = evalsha(script, keys, argv)
    except StopIteration as done:
        return done.value


async def arun(steps: Generator):
    """The asyncio twin of :func:`run`."""
    reply = None
    try:
        while True:
            script, keys, argv = steps.send(reply)
            reply = await aevalsha(script, keys, argv)
    except StopIteration as done:
        return done.value
