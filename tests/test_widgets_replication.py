"""Lesson 04's experiments (core) and its LagTimeline widget, driven without a browser."""

from __future__ import annotations

import pytest

from highload.replication import AnyReplica, PrimaryOnly, SessionToken, TimePinning
from highload.replication.experiments import compare_policies, timeline
from tests.broken_replication import GoodRouter, NoMonotonicReads


class RoundRobinAnyReplica:
    """The read-your-writes bug as a learner might write it: ignores the token entirely."""

    def __init__(self, primary, replicas):
        self.primary, self.replicas, self.k = primary, list(replicas), 0

    def write(self, session, key, value):
        return self.primary.write(key, value)

    def read(self, session, key):
        self.k += 1
        return self.replicas[self.k % len(self.replicas)].read(key)


def test_token_routing_is_never_stale_and_uses_replicas():
    run = timeline(lags=(0.5, 2.0))
    assert run.reads > 100 and run.stale_reads == 0
    assert 0.5 < run.replica_share < 1
    assert run.stats["primary_reads"] + run.stats["replica_reads"] == run.reads


def test_a_router_that_ignores_the_token_is_stale_and_more_so_with_more_lag():
    short = timeline(RoundRobinAnyReplica, lags=(0.1, 0.1)).stale_reads
    long = timeline(RoundRobinAnyReplica, lags=(2.0, 2.0)).stale_reads
    assert 0 < short < long


def test_same_seed_same_run_and_a_learner_router_is_accepted():
    assert timeline(GoodRouter, seed=3).ops == timeline(GoodRouter, seed=3).ops
    assert timeline(NoMonotonicReads).stale_reads == 0, "read-your-writes alone holds without monotonic reads"


def test_pinning_goes_stale_only_when_lag_exceeds_the_pin():
    rows = compare_policies({"primary": PrimaryOnly, "pin": lambda: TimePinning(2.0), "token": SessionToken,
                             "any": AnyReplica}, [1.0, 4.0])
    by = {(r.policy, r.lag): r for r in rows}
    assert by["pin", 1.0].stale_reads == 0 and by["pin", 4.0].stale_reads > 0
    assert by["token", 4.0].stale_reads == 0 and by["primary", 4.0].replica_share == 0
    assert by["token", 1.0].replica_share > by["pin", 1.0].replica_share
    assert by["any", 1.0].stale_reads > 0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="write_share"):
        timeline(write_share=1.5)
    with pytest.raises(TypeError, match="impl"):
        timeline(impl=42)


pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")


def test_widget_redraws_when_a_slider_moves():
    from highload.widgets.replication import LagTimeline

    w = LagTimeline(impl=RoundRobinAnyReplica, lags=(0.1, 0.1))
    before = w.result.stale_reads
    w.controls["lag1"].value = 3.0
    assert w.result.stale_reads > before
    stale_trace = w.figure.data[2]
    assert len(stale_trace.x) == w.result.stale_reads
    assert "stale" in w.summary.value


def test_widget_shows_a_learner_error_instead_of_raising():
    from highload.widgets.replication import LagTimeline

    class Unfinished:
        def __init__(self, primary, replicas):
            pass

        def read(self, session, key):
            raise NotImplementedError

        write = read

    w = LagTimeline(impl=Unfinished)
    assert w.result is None and "Unfinished raised" in w.summary.value
    assert "NotImplementedError" in w.summary.value
