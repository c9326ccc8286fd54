"""Hidden suite: SessionRouter(primary, replicas) — read-your-writes and monotonic reads by token.

One test per clause of the exercise's contract. The fakes record every access, so a router that
reads a replica's position twice, or the primary's position before its read, is caught. The
replicas' reads answer with their own name, so each test sees which node served.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING

construction = pytest.mark.group("construction")
writes = pytest.mark.group("writes")
routing = pytest.mark.group("routing")
tokens = pytest.mark.group("tokens")
model = pytest.mark.group("model")


class Primary:
    """``write`` returns the next position from ``step``; ``lsn`` may jump during a read."""

    name = "primary"

    def __init__(self, lsn: int = 0, step: int = 10) -> None:
        self._lsn = lsn
        self.step = step
        self.writes: list[tuple] = []
        self.lsn_reads = 0
        self.bump_on_read = 0           # the log moves on while the primary serves a read
        self.events: list[str] = []

    @property
    def lsn(self) -> int:
        self.lsn_reads += 1
        self.events.append("lsn")
        return self._lsn

    def write(self, key, value) -> int:
        self._lsn += self.step
        self.writes.append((key, value))
        return self._lsn

    def read(self, key):
        self.events.append("read")
        self._lsn += self.bump_on_read
        return ("primary", key)


class Replica:
    """``applied_lsn`` answers from ``positions`` (one value per access; the last repeats)."""

    def __init__(self, name: str, *positions: int) -> None:
        self.name = name
        self.positions = list(positions) or [0]
        self.accesses = 0
        self.reads = 0

    @property
    def applied_lsn(self) -> int:
        value = self.positions[min(self.accesses, len(self.positions) - 1)]
        self.accesses += 1
        return value

    def set(self, lsn: int) -> None:
        self.positions, self.accesses = [lsn], 0

    def read(self, key):
        self.reads += 1
        return (self.name, key)


def served(result) -> str:
    assert isinstance(result, tuple) and len(result) == 2, \
        f"read() must return exactly what the chosen node's read(key) returned, got {result!r}"
    return result[0]


def make(target, *positions, lsn=0):
    primary = Primary(lsn)
    replicas = [Replica(f"r{i}", p) for i, p in enumerate(positions)]
    return target(primary, replicas), primary, replicas


# -- construction --------------------------------------------------------------------------------
@construction
@pytest.mark.parametrize("bad", [None, "r0r1", {"r0": 1}, set(), (r for r in ())],
                         ids=["None", "str", "dict", "set", "generator"])
def test_replicas_must_be_a_list_or_tuple(target, bad):
    with pytest.raises(TypeError):
        target(Primary(), bad)


@construction
def test_a_tuple_of_replicas_is_accepted(target):
    router = target(Primary(), (Replica("r0", 5),))
    assert served(router.read("s", "k")) == "r0"


@construction
def test_the_constructor_copies_the_replicas(target):
    replicas = [Replica("r0", 0)]
    router = target(Primary(), replicas)
    replicas.append(Replica("late", 0))
    replicas[0] = Replica("swapped", 0)
    assert [served(router.read("s", "k")) for _ in range(3)] == ["r0"] * 3, \
        "changing the caller's list afterwards must not change the router's replicas"


@construction
def test_stats_start_as_exactly_two_zero_ints(target):
    router, *_ = make(target, 0)
    assert type(router.stats) is dict, "stats must be a dict"
    assert router.stats == {"primary_reads": 0, "replica_reads": 0}
    assert all(type(v) is int for v in router.stats.values()), "stats values must be ints"


@construction
def test_a_session_never_seen_has_token_zero(target):
    router, *_ = make(target, 0)
    assert router.token("nobody") == 0


# -- writes --------------------------------------------------------------------------------------
@writes
def test_write_goes_through_the_primary_and_returns_its_position(target):
    router, primary, replicas = make(target, 0, lsn=100)
    assert router.write("s", "k", "v") == 110
    assert primary.writes == [("k", "v")]
    assert all(r.reads == 0 for r in replicas)


@writes
def test_write_sets_the_token_to_the_position(target):
    router, *_ = make(target, 0)
    router.write("s", "k", "v")
    assert router.token("s") == 10
    router.write("s", "k", "w")
    assert router.token("s") == 20


@writes
def test_write_never_lowers_the_token(target):
    router, *_ = make(target, 0)
    router.set_token("s", 1000)
    router.write("s", "k", "v")
    assert router.token("s") == 1000, "token must become max(token, position), not the position"


@writes
def test_set_token_seeds_a_session(target):
    router, *_ = make(target, 0)
    router.set_token("s", 42)
    assert router.token("s") == 42


@writes
def test_set_token_never_lowers_it(target):
    router, *_ = make(target, 0)
    router.set_token("s", 42)
    router.set_token("s", 7)
    assert router.token("s") == 42


@writes
def test_writes_do_not_count_in_stats(target):
    router, *_ = make(target, 0)
    router.write("s", "k", "v")
    assert router.stats == {"primary_reads": 0, "replica_reads": 0}


@writes
def test_writes_do_not_move_the_cursor(target):
    router, *_ = make(target, 100, 100, 100)
    router.write("s", "k", "v")
    router.write("t", "k", "v")
    assert served(router.read("u", "k")) == "r0", "the first read must still try replica 0 first"


# -- routing -------------------------------------------------------------------------------------
@routing
def test_reads_go_round_robin_from_replica_zero(target):
    router, *_ = make(target, 0, 0, 0)
    assert [served(router.read("s", "k")) for _ in range(5)] == ["r0", "r1", "r2", "r0", "r1"]


@routing
def test_the_cursor_is_shared_by_all_sessions(target):
    router, *_ = make(target, 0, 0)
    assert [served(router.read(s, "k")) for s in ("a", "b", "c")] == ["r0", "r1", "r0"]


@routing
def test_a_replica_exactly_at_the_token_serves(target):
    router, _, replicas = make(target, 10)
    router.write("s", "k", "v")
    assert served(router.read("s", "k")) == "r0", "applied_lsn == token must qualify (>=)"


@routing
def test_a_replica_one_below_the_token_does_not_serve(target):
    router, *_ = make(target, 9)
    router.write("s", "k", "v")
    assert served(router.read("s", "k")) == "primary"


@routing
def test_lagging_replicas_are_skipped_in_order(target):
    router, _, replicas = make(target, 0, 0, 10)
    router.write("s", "k", "v")
    assert served(router.read("s", "k")) == "r2"
    replicas[1].set(10)
    assert served(router.read("s", "k")) == "r1", "read 1 tries r1 first"
    replicas[0].set(10)
    assert served(router.read("s", "k")) == "r2", "read 2 tries r2 first"


@routing
def test_the_search_wraps_around(target):
    router, _, replicas = make(target, 10, 0, 0)
    router.read("other", "k")           # read 0
    router.write("s", "k", "v")
    assert served(router.read("s", "k")) == "r0", "read 1 tries r1, r2, then wraps to r0"


@routing
def test_the_cursor_moves_by_one_even_when_a_replica_is_skipped(target):
    router, _, replicas = make(target, 0, 0, 0)
    router.set_token("s", 5)
    replicas[2].set(5)
    assert served(router.read("s", "k")) == "r2"
    assert served(router.read("fresh", "k")) == "r1", \
        "read 1 must start at replica 1, not after the replica that served read 0"


@routing
def test_the_cursor_moves_when_the_primary_serves(target):
    router, *_ = make(target, 0, 0)
    router.set_token("s", 5)
    assert served(router.read("s", "k")) == "primary"
    assert served(router.read("fresh", "k")) == "r1"


@routing
def test_no_replica_qualifies_so_the_primary_serves(target):
    router, _, replicas = make(target, 1, 2, 3)
    router.write("s", "k", "v")
    assert served(router.read("s", "k")) == "primary"
    assert all(r.reads == 0 for r in replicas), "no replica may be read when none qualifies"


@routing
def test_with_no_replicas_every_read_goes_to_the_primary(target):
    router = target(Primary(), [])
    assert [served(router.read("s", "k")) for _ in range(3)] == ["primary"] * 3
    assert router.stats == {"primary_reads": 3, "replica_reads": 0}


@routing
def test_read_returns_what_the_chosen_node_returned(target):
    router, *_ = make(target, 0)
    assert router.read("s", "profile:7") == ("r0", "profile:7")


@routing
def test_stats_count_each_read_once_by_where_it_went(target):
    router, _, replicas = make(target, 0, 0)
    router.read("a", "k")
    router.write("b", "k", "v")
    router.read("b", "k")
    replicas[0].set(10)
    router.read("b", "k")
    assert router.stats == {"primary_reads": 1, "replica_reads": 2}
    assert set(router.stats) == {"primary_reads", "replica_reads"}


# -- tokens (monotonic reads) -------------------------------------------------------------------
@tokens
def test_a_replica_read_raises_the_token_to_its_applied_position(target):
    router, *_ = make(target, 70)
    router.read("s", "k")
    assert router.token("s") == 70


@tokens
def test_a_primary_read_raises_the_token_to_the_primary_position(target):
    router, primary, _ = make(target, 0)
    router.set_token("s", 5)
    primary._lsn = 50
    router.read("s", "k")
    assert router.token("s") == 50


@tokens
def test_the_primary_position_is_read_after_the_primary_read(target):
    router, primary, _ = make(target, lsn=50)
    primary.bump_on_read = 3
    router.read("s", "k")
    assert router.token("s") == 53, "the token must be primary.lsn read after primary.read(key)"


@tokens
def test_each_replica_position_is_read_once_per_read(target):
    router, _, replicas = make(target, 0, 0, 0)
    router.set_token("s", 5)
    router.read("s", "k")
    assert [r.accesses for r in replicas] == [1, 1, 1], "read applied_lsn once per replica per read"


@tokens
def test_the_position_checked_is_the_position_learned(target):
    primary = Primary()
    replica = Replica("r0", 10, 99)     # first access 10, any later one 99
    router = target(primary, [replica])
    router.set_token("s", 10)
    assert served(router.read("s", "k")) == "r0"
    assert router.token("s") == 10, "the token must learn the same applied_lsn value that was checked"


@tokens
def test_a_session_never_goes_back_in_time(target):
    router, _, replicas = make(target, 40, 10)
    assert served(router.read("s", "k")) == "r0"
    assert served(router.read("s", "k")) == "r0", "r1 is behind what the session has seen: skip it"


@tokens
def test_sessions_are_independent(target):
    router, *_ = make(target, 0)
    router.write("alice", "k", "v")
    assert router.token("bob") == 0
    assert served(router.read("bob", "k")) == "r0", "bob never saw alice's write"
    assert served(router.read("alice", "k")) == "primary"


@tokens
def test_any_hashable_is_a_session(target):
    router, *_ = make(target, 0)
    router.write(("tenant", 7), "k", "v")
    assert router.token(("tenant", 7)) == 10 and router.token(7) == 0


# -- model-based --------------------------------------------------------------------------------
class Model:
    """The contract, written as plainly as possible."""

    def __init__(self, primary, replicas) -> None:
        self.primary, self.replicas = primary, list(replicas)
        self.tokens: dict = {}
        self.cursor = 0
        self.stats = {"primary_reads": 0, "replica_reads": 0}

    def token(self, s):
        return self.tokens.get(s, 0)

    def set_token(self, s, lsn):
        self.tokens[s] = max(self.token(s), lsn)

    def write(self, s, key, value):
        lsn = self.primary.write(key, value)
        self.set_token(s, lsn)
        return lsn

    def read(self, s, key):
        n, k = len(self.replicas), self.cursor
        self.cursor += 1
        for i in range(n):
            r = self.replicas[(k + i) % n]
            applied = r.applied_lsn
            if applied >= self.token(s):
                self.stats["replica_reads"] += 1
                self.set_token(s, applied)
                return r.read(key)
        value = self.primary.read(key)
        self.stats["primary_reads"] += 1
        self.set_token(s, self.primary.lsn)
        return value


sessions = st.sampled_from(["a", "b", "c"])
operations = st.lists(st.one_of(
    st.tuples(st.just("write"), sessions, st.sampled_from(["x", "y"])),
    st.tuples(st.just("read"), sessions, st.sampled_from(["x", "y"])),
    st.tuples(st.just("catch_up"), st.integers(0, 3), st.integers(0, 4)),
    st.tuples(st.just("set_token"), sessions, st.integers(0, 80)),
), max_size=40)


@model
@GRADING
@given(n=st.integers(0, 3), ops=operations)
def test_random_sequences_match_the_contract(target, n, ops):
    def world():
        primary = Primary()
        return primary, [Replica(f"r{i}", 0) for i in range(n)]

    (p1, r1), (p2, r2) = world(), world()
    router, reference = target(p1, r1), Model(p2, r2)
    for op in ops:
        if op[0] == "catch_up":
            if n:
                # Replica i catches up to `behind` writes short of the primary (it never goes back).
                i, behind = op[1] % n, op[2]
                for rs, p in ((r1, p1), (r2, p2)):
                    rs[i].set(max(rs[i].positions[-1], p._lsn - 10 * behind))
            continue
        if op[0] == "set_token":
            router.set_token(op[1], op[2])
            reference.set_token(op[1], op[2])
        elif op[0] == "write":
            assert router.write(op[1], op[2], "v") == reference.write(op[1], op[2], "v")
        else:
            assert router.read(op[1], op[2]) == reference.read(op[1], op[2]), f"after {ops}"
        for s in ("a", "b", "c"):
            assert router.token(s) == reference.token(s), f"token({s!r}) differs from the contract after {op}"
    assert router.stats == reference.stats
