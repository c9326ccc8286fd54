"""Wrong answers to lesson 04's exercise (SessionRouter): the read_your_writes suite must fail each.

Each is a correct router with one plausible mistake; ``CLAUSE`` names the hidden test that must
catch it, so the feedback reads as advice.
"""

from __future__ import annotations


class GoodRouter:
    """A correct answer written apart from the package."""

    def __init__(self, primary, replicas):
        if not isinstance(replicas, (list, tuple)):
            raise TypeError("replicas must be a list or tuple")
        self.primary, self.replicas = primary, list(replicas)
        self._tokens, self._cursor = {}, 0
        self.stats = {"primary_reads": 0, "replica_reads": 0}

    def token(self, session):
        return self._tokens.get(session, 0)

    def set_token(self, session, lsn):
        self._tokens[session] = max(self.token(session), lsn)

    def write(self, session, key, value):
        lsn = self.primary.write(key, value)
        self.set_token(session, lsn)
        return lsn

    def _start(self):
        k = self._cursor
        self._cursor += 1
        return k

    def _qualifies(self, applied, need):
        return applied >= need

    def _learn_replica(self, session, replica, applied):
        self.set_token(session, applied)

    def read(self, session, key):
        need, n, k = self.token(session), len(self.replicas), self._start()
        for i in range(n):
            replica = self.replicas[(k + i) % n]
            applied = replica.applied_lsn
            if self._qualifies(applied, need):
                self.stats["replica_reads"] += 1
                self._after_replica(i, k)
                self._learn_replica(session, replica, applied)
                return replica.read(key)
        return self._from_primary(session, key)

    def _after_replica(self, i, k):
        pass

    def _from_primary(self, session, key):
        value = self.primary.read(key)
        self.stats["primary_reads"] += 1
        self.set_token(session, self.primary.lsn)
        return value


class AcceptsAnyIterable(GoodRouter):
    def __init__(self, primary, replicas):
        super().__init__(primary, list(replicas) if replicas is not None else [])


class KeepsCallersList(GoodRouter):
    def __init__(self, primary, replicas):
        super().__init__(primary, replicas)
        self.replicas = replicas


class StrictlyAhead(GoodRouter):
    def _qualifies(self, applied, need):
        return applied > need


class NoMonotonicReads(GoodRouter):
    def _learn_replica(self, session, replica, applied):
        pass


class ReadsPositionTwice(GoodRouter):
    def _learn_replica(self, session, replica, applied):
        self.set_token(session, replica.applied_lsn)


class PrimaryPositionBeforeRead(GoodRouter):
    def _from_primary(self, session, key):
        self.set_token(session, self.primary.lsn)
        self.stats["primary_reads"] += 1
        return self.primary.read(key)


class CursorSkipsToServer(GoodRouter):
    """The cursor jumps past the replica that served instead of moving by one."""

    def _after_replica(self, i, k):
        self._cursor = k + i + 1


class CursorStaysOnPrimaryReads(GoodRouter):
    def _from_primary(self, session, key):
        self._cursor -= 1
        return super()._from_primary(session, key)


class CursorPerSession(GoodRouter):
    def __init__(self, primary, replicas):
        super().__init__(primary, replicas)
        self._cursors = {}

    def read(self, session, key):
        self._cursor = self._cursors.get(session, 0)
        try:
            return super().read(session, key)
        finally:
            self._cursors[session] = self._cursor


class WriteSetsTokenToPosition(GoodRouter):
    def write(self, session, key, value):
        lsn = self.primary.write(key, value)
        self._tokens[session] = lsn
        return lsn


class SetTokenOverwrites(GoodRouter):
    def set_token(self, session, lsn):
        self._tokens[session] = lsn


class WritesCount(GoodRouter):
    def write(self, session, key, value):
        self.stats["primary_reads"] += 1
        return super().write(session, key, value)


class WritesMoveCursor(GoodRouter):
    def write(self, session, key, value):
        self._cursor += 1
        return super().write(session, key, value)


class AlwaysFromReplicaZero(GoodRouter):
    def _start(self):
        return 0


class PrimaryWhenFirstLags(GoodRouter):
    """Tries only the cursor's replica, then gives up on the replicas."""

    def read(self, session, key):
        need, n, k = self.token(session), len(self.replicas), self._start()
        if n:
            replica = self.replicas[k % n]
            applied = replica.applied_lsn
            if applied >= need:
                self.stats["replica_reads"] += 1
                self.set_token(session, applied)
                return replica.read(key)
        return self._from_primary(session, key)


CLAUSE = {
    AcceptsAnyIterable: "test_replicas_must_be_a_list_or_tuple[generator]",
    KeepsCallersList: "test_the_constructor_copies_the_replicas",
    StrictlyAhead: "test_a_replica_exactly_at_the_token_serves",
    NoMonotonicReads: "test_a_session_never_goes_back_in_time",
    ReadsPositionTwice: "test_the_position_checked_is_the_position_learned",
    PrimaryPositionBeforeRead: "test_the_primary_position_is_read_after_the_primary_read",
    CursorSkipsToServer: "test_the_cursor_moves_by_one_even_when_a_replica_is_skipped",
    CursorStaysOnPrimaryReads: "test_the_cursor_moves_when_the_primary_serves",
    CursorPerSession: "test_the_cursor_is_shared_by_all_sessions",
    WriteSetsTokenToPosition: "test_write_never_lowers_the_token",
    SetTokenOverwrites: "test_set_token_never_lowers_it",
    WritesCount: "test_writes_do_not_count_in_stats",
    WritesMoveCursor: "test_writes_do_not_move_the_cursor",
    AlwaysFromReplicaZero: "test_reads_go_round_robin_from_replica_zero",
    PrimaryWhenFirstLags: "test_lagging_replicas_are_skipped_in_order",
}
