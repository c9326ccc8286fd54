"""highload.lab.database: the SQLite "database" the caches front, as a loader and as a store."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from highload.cache import (
    AsyncWriteBackCache,
    CacheAside,
    WriteBackCache,
    WriteThroughCache,
)
from highload.clock import ManualClock
from highload.lab.database import Database


@pytest.fixture
def db():
    with Database() as database:
        database.populate(users=5, products=3, rng=1)
        yield database


def test_tables_are_mappings_of_rows(db):
    assert db.users["u2"] == {"name": "User 2", "email": "user2@example.com"}
    assert set(db.products["p0"]) == {"name", "price", "stock"}
    assert isinstance(db.balances["u0"], int)
    assert list(db.users) == ["u0", "u1", "u2", "u3", "u4"]
    assert len(db.products) == 3
    assert "u1" in db.users and "zz" not in db.users and 1.5 not in db.users


def test_writes_upsert_and_deletes_raise_for_missing_rows(db):
    db.balances["u9"] = 50
    db.balances["u9"] = 75
    assert db.balances["u9"] == 75
    del db.balances["u9"]
    with pytest.raises(KeyError):
        db.balances["u9"]
    with pytest.raises(KeyError):
        del db.balances["u9"]
    db.users[7] = {"name": "Int Key", "email": "i@example.com"}
    assert db.users["7"]["name"] == "Int Key"


def test_load_returns_none_for_a_missing_row(db):
    assert db.users.load("nobody") is None
    assert db.users.load("u0")["name"] == "User 0"


def test_populate_is_deterministic_per_rng():
    a, b, c = Database(), Database(), Database()
    a.populate(rng=5)
    b.populate(rng=5)
    c.populate(rng=6)
    assert dict(a.products) == dict(b.products) != dict(c.products)
    assert dict(a.balances) == dict(b.balances)


def test_write_many_is_one_transaction_all_or_nothing(db):
    before = db.queries
    db.balances.write_many([("a", 1), ("b", 2)])
    assert db.queries == before + 1
    with pytest.raises(sqlite3.Error):
        db.execute_many("INSERT INTO balances (id, amount) VALUES (?, ?)", [("c", 3), ("a", 9)])  # "a" exists
    assert "c" not in db.balances and db.balances["a"] == 1


def test_latency_is_injected_per_query_through_sleep():
    clock = ManualClock()
    db = Database(latency=0.25, sleep=clock.sleep)
    db.balances["u"] = 1
    db.balances["u"]
    db.balances.load("x")
    assert db.queries == 3 and clock() == 0.75


def test_latency_may_vary_per_query():
    clock = ManualClock()
    steps = iter([0.5, 0.25])
    db = Database(latency=lambda: next(steps), sleep=clock.sleep)
    db.balances["u"] = 1
    db.balances["u"]
    assert clock() == 0.75


def test_a_slow_database_shows_what_a_cache_saves():
    clock = ManualClock()
    db = Database(latency=0.25, sleep=clock.sleep)
    db.populate(users=2)
    start_queries, start = db.queries, clock()
    cache = CacheAside(db.users.load, 60, clock=clock)
    for _ in range(10):
        cache.get("u1")
    assert db.queries - start_queries == 1
    assert clock() - start == 0.25
    assert cache.metrics().load_p50 == 0.25  # the load latency, measured on the injected clock


def test_a_file_database_is_shared_by_every_connection(tmp_path):
    path = str(tmp_path / "shop.db")
    with Database(path) as writer, Database(path) as reader:
        writer.balances["u1"] = 10
        assert reader.balances["u1"] == 10


def test_concurrent_threads_share_one_database():
    db = Database()
    start = threading.Barrier(8, timeout=30)

    def work(i):
        start.wait()
        for j in range(25):
            db.balances[f"t{i}:{j}"] = j

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(db.balances) == 200


def test_tables_are_stores_for_write_through_and_write_back(db):
    wt = WriteThroughCache(db.users)
    wt.write("u9", {"name": "New", "email": "n@example.com"})
    assert db.users["u9"]["name"] == "New" and wt.read("u9")["name"] == "New"
    wb = WriteBackCache(db.balances, 60, ManualClock())
    for i in range(5):
        wb.write(f"u{i}", i)
    before = db.queries
    assert wb.flush() == 5
    assert db.queries == before + 1  # write_many: one batch per flush
    assert [db.balances[f"u{i}"] for i in range(5)] == [0, 1, 2, 3, 4]


def test_async_table_methods_and_async_write_back(db):
    async def main():
        await db.balances.awrite("x", 5)
        got = [await db.balances.aread("x"), await db.balances.aload("missing")]
        await db.balances.adelete("x")
        with pytest.raises(KeyError):
            await db.balances.aread("x")
        cache = AsyncWriteBackCache(db.balances, 60, ManualClock())
        await cache.write("y", 7)
        got.append(await cache.flush())
        got.append(await cache.read("u0") == db.balances["u0"])
        return got

    assert asyncio.run(main()) == [5, None, 1, True]
    assert db.balances["y"] == 7
