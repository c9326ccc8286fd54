"""The crash drill widget of lesson 02: its redraws, and a learner's RedisCartStore inside it.

No browser here: these drive the widget object directly (tests/test_browser.py checks rendering).
"""

from __future__ import annotations

import fakeredis
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from highload.carts import RedisCartStore  # noqa: E402
from highload.widgets import CartCrashDrill  # noqa: E402
from highload.widgets.carts import SETUPS, crash_drill  # noqa: E402
from tests.test_carts_drill import OverwritingStore  # noqa: E402

MEMORY_RR, STICKY, REDIS = SETUPS


# The drill's own numbers are tested in tests/test_carts_drill.py, without plotly.


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [({"servers": 1}, ValueError, "servers"), ({"items": 0}, ValueError, "items"),
     ({"shoppers": -5}, ValueError, "shoppers"), ({"servers": 3.0}, TypeError, "servers"),
     ({"impl": RedisCartStore(fakeredis.FakeRedis(), ttl=1)}, TypeError, "impl")],
)
def test_widget_rejects_bad_arguments_naming_them(kwargs, error, name):
    with pytest.raises(error, match=name):
        CartCrashDrill(**kwargs)


# -- the widget -----------------------------------------------------------------------------------


def _bars(drill):
    before, after = drill.figure.data
    return list(before.y), list(after.y)


def test_widget_draws_every_setup_before_and_after():
    drill = CartCrashDrill()
    assert drill.results == [crash_drill(s) for s in SETUPS]
    before, after = drill.figure.data
    assert list(before.x) == list(after.x) == list(SETUPS)
    assert (before.name, after.name) == ("before the crash", "after shop-1 dies")
    assert (before.marker.color, after.marker.color) == ("#1f77b4", "#d62728")
    assert _bars(drill) == ([10 / 300, 1.0, 1.0], [12 / 300, 206 / 300, 1.0])
    assert drill.figure.layout.title.text == "3 servers, 3 items per cart, 300 shoppers"
    assert drill.figure.layout.yaxis.tickformat == ".0%" and tuple(drill.figure.layout.yaxis.range) == (0, 1.05)
    assert drill.figure.layout.barmode == "group"
    assert "memory + sticky cookie <b>100%</b> → <b>69%</b>" in drill.summary.value
    assert "raised" not in drill.summary.value


def test_moving_each_slider_redraws_with_the_new_results():
    drill = CartCrashDrill()
    servers, items = drill.controls["servers"], drill.controls["items"]
    assert (servers.description, items.description) == ("servers", "items per cart")
    assert (servers.min, servers.max, items.min, items.max) == (2, 10, 1, 5)
    assert not servers.continuous_update and not items.continuous_update

    bars_before = _bars(drill)
    servers.value = 8
    assert drill.results == [crash_drill(s, 8, 3) for s in SETUPS]
    assert _bars(drill) == ([r.before for r in drill.results], [r.after for r in drill.results])
    assert _bars(drill) != bars_before
    assert drill.figure.layout.title.text.startswith("8 servers, 3 items per cart")

    bars_before = _bars(drill)
    items.value = 1
    assert drill.results == [crash_drill(s, 8, 1) for s in SETUPS]
    assert _bars(drill) == ([r.before for r in drill.results], [r.after for r in drill.results])
    assert _bars(drill) != bars_before
    assert drill.figure.layout.title.text == "8 servers, 1 item per cart, 300 shoppers"


def test_shoppers_and_out_of_range_values_are_kept():
    drill = CartCrashDrill(servers=12, items=7, shoppers=40)
    assert drill.controls["servers"].max == 12 and drill.controls["items"].max == 7
    assert drill.results == [crash_drill(s, 12, 7, 40) for s in SETUPS]
    assert drill.figure.layout.title.text.endswith("40 shoppers")


def test_widget_runs_the_given_impl_as_the_redis_store():
    calls = []

    class Counting(RedisCartStore):
        def __init__(self, redis, ttl):
            calls.append(ttl)
            super().__init__(redis, ttl=ttl)

    drill = CartCrashDrill(impl=Counting)
    assert calls == [3600] * 3  # one per server, for the Redis setup only
    assert drill.results[2] == crash_drill(REDIS)
    assert "through Counting" in drill.summary.value
    drill.controls["servers"].value = 4
    assert calls == [3600] * 3 + [3600] * 4


def test_an_impl_that_loses_items_shows_lost_carts():
    drill = CartCrashDrill(impl=OverwritingStore)
    redis_ = drill.results[2]
    assert redis_.after < 1.0 and redis_.before < 1.0
    assert _bars(drill)[1][2] == redis_.after
    drill.controls["items"].value = 1  # one item per cart: nothing to overwrite
    assert drill.results[2].before == drill.results[2].after == 1.0


def test_a_broken_impl_shows_its_error_and_a_good_state_redraws():
    broken = {"on": True}

    class Flaky(RedisCartStore):
        def add_item(self, cart_id, sku, qty=1):
            if broken["on"]:
                raise NotImplementedError("write add_item first")
            return super().add_item(cart_id, sku, qty)

    drill = CartCrashDrill(impl=Flaky)  # does not raise
    assert "Flaky raised" in drill.summary.value
    assert "NotImplementedError: write add_item first" in drill.summary.value
    assert "Flaky.add_item(" in drill.summary.value  # the note says which call
    assert drill.results == [] and _bars(drill) == ([], [])
    assert drill.figure.layout.title.text == ""

    drill.controls["servers"].value = 4  # still alive
    assert "NotImplementedError" in drill.summary.value and drill.results == []

    broken["on"] = False
    drill.controls["items"].value = 2
    assert "raised" not in drill.summary.value
    assert drill.results == [crash_drill(s, 4, 2) for s in SETUPS]
    assert _bars(drill) == ([r.before for r in drill.results], [r.after for r in drill.results])

    broken["on"] = True  # broken again: no stale numbers left on the chart or in results
    drill.controls["items"].value = 3
    assert "NotImplementedError" in drill.summary.value
    assert drill.results == [] and _bars(drill) == ([], [])


def test_an_impl_with_the_wrong_constructor_is_reported():
    class NoTtl:
        def __init__(self, redis):
            self.redis = redis

    drill = CartCrashDrill(impl=NoTtl)
    assert "NoTtl raised" in drill.summary.value and "TypeError" in drill.summary.value


def test_widget_displays_with_the_figure_inside():
    drill = CartCrashDrill()
    bundle = drill._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "CartCrashDrill(RedisCartStore)"
    assert drill.chart in drill.widget.children and drill.summary in drill.widget.children
    assert set(drill.controls) == {"servers", "items"}
    assert drill.controls["servers"].style.description_width == "initial"
