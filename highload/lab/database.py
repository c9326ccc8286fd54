"""The "database" behind the caches: real SQLite (stdlib) holding users, products and balances.

Every query can be made slow on purpose, so a lesson can show what a cache saves::

    db = Database("shop.db", latency=0.05)       # 50 ms per query, really slept
    db.populate(users=100, products=50, rng=7)
    cache = CacheAside(db.users.load, ttl=60)     # a table's load() is a loader
    WriteBackCache(db.balances, flush_interval=5) # a table is a MutableMapping store

Under test, pass ``latency=0``, or ``sleep=clock.sleep`` with a
:class:`~highload.clock.ManualClock` so each query advances simulated time instead.
"""

from __future__ import annotations

import asyncio
import numbers
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, MutableMapping
from typing import Any

from highload import _validate

__all__ = ["Database", "Table", "Rows", "SCHEMA"]

#: table -> its columns besides the text primary key ``id``. A one-column table holds
#: plain values (a balance is an int of cents); the others hold dicts of their columns.
SCHEMA: dict[str, tuple[str, ...]] = {
    "users": ("name", "email"),
    "products": ("name", "price", "stock"),
    "balances": ("amount",),
}


def _key(key: Hashable) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise TypeError(f"key must be a str or int, got {key!r}")


class Table(MutableMapping):
    """One table as a mapping from id to row: ``table[id]``, ``table[id] = row``, ``del table[id]``.

    Each operation is one SQL statement (and one dose of injected latency);
    :meth:`write_many` is one transaction for a whole batch. :meth:`load` returns
    ``None`` for a missing id, which is what a cache loader wants. The ``a``-prefixed
    coroutines run the same statements in a worker thread, for asyncio code.
    """

    def __init__(self, db: Database, name: str, columns: tuple[str, ...]) -> None:
        self.db, self.name, self.columns = db, name, columns
        cols = ", ".join(columns)
        self._select = f"SELECT {cols} FROM {name} WHERE id = ?"
        marks = ", ".join("?" for _ in columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
        self._upsert = f"INSERT INTO {name} (id, {cols}) VALUES (?, {marks}) ON CONFLICT(id) DO UPDATE SET {updates}"

    def __repr__(self) -> str:
        return f"Table({self.name!r}, columns={self.columns!r})"

    def _value(self, row: tuple) -> Any:
        return row[0] if len(self.columns) == 1 else dict(zip(self.columns, row, strict=True))

    def _row(self, key: Hashable, value: Any) -> tuple:
        if len(self.columns) == 1:
            if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
                raise TypeError(f"value for {self.name} must be a number or str, got {value!r}")
            return (_key(key), value)
        if not isinstance(value, dict):
            raise TypeError(f"value for {self.name} must be a dict with {self.columns}, got {value!r}")
        missing = [c for c in self.columns if c not in value]
        if missing:
            raise ValueError(f"value for {self.name} is missing columns {missing}, got {value!r}")
        return (_key(key), *(value[c] for c in self.columns))

    def __getitem__(self, key: Hashable) -> Any:
        row = self.db.execute(self._select, (_key(key),)).fetchone()
        if row is None:
            raise KeyError(key)
        return self._value(row)

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self.db.execute(self._upsert, self._row(key, value))

    def __delitem__(self, key: Hashable) -> None:
        if self.db.execute(f"DELETE FROM {self.name} WHERE id = ?", (_key(key),)).rowcount == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        try:
            k = _key(key)  # type: ignore[arg-type]
        except TypeError:
            return False
        return self.db.execute(f"SELECT 1 FROM {self.name} WHERE id = ?", (k,)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self.db.execute(f"SELECT id FROM {self.name} ORDER BY id").fetchall()])

    def __len__(self) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {self.name}").fetchone()[0]

    def load(self, key: Hashable) -> Any:
        """The row for ``key``, or ``None`` if there is none: a cache loader."""
        row = self.db.execute(self._select, (_key(key),)).fetchone()
        return None if row is None else self._value(row)

    def write_many(self, items: Iterable[tuple[Hashable, Any]]) -> None:
        """Upsert every ``(key, value)`` in one transaction: all of them or none."""
        rows = [self._row(k, v) for k, v in items]
        if rows:
            self.db.execute_many(self._upsert, rows)

    async def aload(self, key: Hashable) -> Any:
        return await asyncio.to_thread(self.load, key)

    async def aread(self, key: Hashable) -> Any:
        return await asyncio.to_thread(self.__getitem__, key)

    async def awrite(self, key: Hashable, value: Any) -> None:
        await asyncio.to_thread(self.__setitem__, key, value)

    async def adelete(self, key: Hashable) -> None:
        await asyncio.to_thread(self.__delitem__, key)

    async def awrite_many(self, items: Iterable[tuple[Hashable, Any]]) -> None:
        await asyncio.to_thread(self.write_many, list(items))


class Database:
    """A SQLite database (``path``, or ``":memory:"``) with the tables in :data:`SCHEMA`.

    ``latency`` is seconds per query (a number, or a zero-argument callable for varying
    latency), spent by calling ``sleep`` before the statement runs and outside the
    connection lock, so concurrent queries overlap as they would against a server.
    ``queries`` counts statements. A file database uses WAL and can be opened by several
    processes at once; every statement commits when it returns.
    """

    def __init__(self, path: str = ":memory:", *, latency: float | Callable[[], float] = 0.0,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        if not isinstance(path, str) or not path:
            raise ValueError(f"path must be a file path or ':memory:', got {path!r}")
        if not callable(latency):
            _validate.number("latency", latency, minimum=0, inclusive=True)
        if not callable(sleep):
            raise TypeError(f"sleep must be callable with seconds, got {sleep!r}")
        self.path, self.latency, self.sleep = path, latency, sleep
        self.queries = 0
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        for table, columns in SCHEMA.items():
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, {', '.join(columns)})")
        self.users = Table(self, "users", SCHEMA["users"])
        self.products = Table(self, "products", SCHEMA["products"])
        self.balances = Table(self, "balances", SCHEMA["balances"])

    def __repr__(self) -> str:
        return f"Database({self.path!r}, latency={self.latency!r})"

    @property
    def tables(self) -> dict[str, Table]:
        return {"users": self.users, "products": self.products, "balances": self.balances}

    def _wait(self) -> None:
        seconds = self.latency() if callable(self.latency) else self.latency
        if seconds:
            self.sleep(seconds)

    def execute(self, sql: str, params: tuple = ()) -> Rows:
        """Run one statement (after the injected latency) and return all its rows."""
        self._wait()
        with self._lock:
            self.queries += 1
            return Rows(self._conn.execute(sql, params))

    def execute_many(self, sql: str, rows: list[tuple]) -> None:
        """Run ``sql`` once per row inside one transaction (one dose of latency)."""
        self._wait()
        with self._lock:
            self.queries += 1
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(sql, rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def populate(self, users: int = 100, products: int = 50, rng: random.Random | int | None = 0) -> None:
        """Fill the tables with deterministic fake rows: ``u0..``, ``p0..``, one balance per user."""
        users = _validate.integer("users", users, minimum=0)
        products = _validate.integer("products", products, minimum=0)
        r = rng if isinstance(rng, random.Random) else random.Random(rng)
        self.users.write_many((f"u{i}", {"name": f"User {i}", "email": f"user{i}@example.com"}) for i in range(users))
        self.products.write_many(
            (f"p{i}", {"name": f"Product {i}", "price": r.randrange(100, 100_000), "stock": r.randrange(0, 500)})
            for i in range(products)
        )
        self.balances.write_many((f"u{i}", r.randrange(0, 1_000_000)) for i in range(users))

    #: The old name, kept as a plain alias until the next release: "seed" read like an RNG seed
    #: next to ``rng=``, while this fills tables.
    seed = populate

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Rows:
    """A statement's rows and rowcount, read while the connection lock was held."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows = cursor.fetchall()
        self.rowcount = cursor.rowcount

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self):
        return list(self._rows)
