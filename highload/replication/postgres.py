"""A real Postgres primary with streaming replicas, started privately on loopback ports.

``PostgresReplicaSet(replicas=2)`` runs ``initdb``, starts the primary, clones each replica with
``pg_basebackup`` and starts it streaming, all in a temp dir; :meth:`PostgresReplicaSet.close`
(also run by a finalizer) stops exactly those servers with ``pg_ctl -m immediate stop`` and
removes the dir. Needs Postgres' server binaries (Debian: ``postgresql-15``) and the ``pg`` extra
(``pip install 'highload[pg]'`` for psycopg 3).

Everything the lesson shows is real Postgres:

* positions: ``pg_current_wal_lsn()`` after a commit, ``pg_last_wal_replay_lsn()`` on a replica;
* lag: ``recovery_min_apply_delay`` set per replica at run time (``ALTER SYSTEM`` + reload);
* a stalled replica: ``pg_wal_replay_pause()`` / ``pg_wal_replay_resume()``;
* a partition: ``primary_conninfo = ''`` stops the stream; ``pg_promote()`` fails over, and the
  commits past the replica's ``pg_last_wal_receive_lsn()`` are lost (a merely *delayed* replica
  has received everything and replays it when promoted: nothing is lost);
* synchronous replication: ``synchronous_standby_names`` + ``synchronous_commit``.

Running as root (CI containers): ``initdb`` refuses root, so every server command runs as the
``postgres`` user through ``runuser``, with the data dirs owned by it under a 0755 parent. The
server puts itself in its own session, so it is stopped through ``pg_ctl``, not by process group.
"""

from __future__ import annotations

import contextlib
import glob
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from highload.processes import free_port, wait_until

from .base import Failover, find_replica, lsn_to_int

__all__ = ["PostgresReplicaSet", "PgPrimary", "PgReplica", "WriteOutcome", "available", "bin_dir"]

USER = "app"
START_TIMEOUT = 60


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("highload.replication.postgres needs psycopg 3: pip install 'highload[pg]'") from exc
    return psycopg


def bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb`` (Debian's layout), else ``initdb`` on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def available() -> str | None:
    """``None`` if a replica set can start here, else the reason it cannot."""
    if bin_dir() is None:
        return "Postgres server binaries not found (install postgresql-15)"
    if _as_root():
        import pwd
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but there is no 'postgres' user to run the server"
    try:
        _psycopg()
    except ImportError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class WriteOutcome:
    """A write with a client-side deadline: ``"committed"`` (confirmed), ``"unknown"`` (the client
    stopped waiting for synchronous replication; the primary has committed it locally) or
    ``"cancelled"`` (given up before the commit: not written)."""

    status: str
    lsn: int | None
    seconds: float


class _Node:
    """One server: its port, data dir, and a small pool of autocommit connections."""

    def __init__(self, name: str, port: int, data: Path) -> None:
        self.name = name
        self.port = port
        self.data = data
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._all: list = []
        self._lock = threading.Lock()

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres"

    def connect(self, **kwargs):
        return _psycopg().connect(self.dsn, autocommit=True, connect_timeout=5, **kwargs)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self.connect()
            with self._lock:
                self._all.append(conn)
        try:
            yield conn
        except BaseException:
            with self._lock:
                self._all.remove(conn)
            conn.close()
            raise
        self._idle.put(conn)

    def query(self, sql: str, params=()) -> list[tuple]:
        with self.connection() as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def value(self, sql: str, params=()):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def set_config(self, name: str, value: str | None, shown: str | None = None, *,
                   reconnect: bool = True) -> None:
        """``ALTER SYSTEM SET name = value`` (``None``: RESET), reload, and wait until it is in force.

        A reload is a signal each process handles when it next looks: wait until a new session
        sees ``shown`` (``pg_settings.setting``, in base units: '500' for '500ms'; default
        ``value``), then drop the pooled sessions so every later query runs with it
        (``reconnect=False`` keeps them, for a setting no client session reads).
        """
        with self.connection() as conn:
            if value is None:
                conn.execute(f"ALTER SYSTEM RESET {name}")
            else:
                conn.execute(f"ALTER SYSTEM SET {name} = " + _literal(value))
            conn.execute("SELECT pg_reload_conf()")
        if value is not None:
            want = str(value) if shown is None else shown

            def in_force() -> bool:
                with self.connect() as fresh:
                    return fresh.execute("SELECT setting FROM pg_settings WHERE name = %s",
                                         (name,)).fetchone()[0] == want
            if not wait_until(in_force, START_TIMEOUT, interval=0.02):
                raise RuntimeError(f"{self.name}: {name} = {value!r} did not come into force after a reload")
        if reconnect:
            self.close()

    def read(self, key: str) -> Any:
        return self.value("SELECT value FROM kv WHERE key = %s", (key,))

    def close(self) -> None:
        """Close every pooled connection (the node stays up; new ones open on demand)."""
        with self._lock:
            conns, self._all = self._all, []
            self._idle = queue.SimpleQueue()
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, port={self.port})"


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class PgPrimary(_Node):
    """Takes every write; ``write`` returns ``pg_current_wal_lsn()`` read after the commit."""

    def __init__(self, name, port, data) -> None:
        super().__init__(name, port, data)
        self.log: list[tuple[int, str]] = []   # (commit position, key) of every write made here
        self._log_lock = threading.Lock()

    @property
    def lsn(self) -> int:
        return lsn_to_int(self.value("SELECT pg_current_wal_lsn()::text"))

    def write(self, key: str, value: Any) -> int:
        with self.connection() as conn:
            conn.execute("INSERT INTO kv (key, value) VALUES (%s, %s) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, str(value)))
            lsn = lsn_to_int(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])
        with self._log_lock:
            self.log.append((lsn, key))
        return lsn

    def try_write(self, key: str, value: Any, timeout: float) -> WriteOutcome:
        """A write whose client gives up after ``timeout`` s and cancels it.

        With synchronous replication and no standby confirming, the commit is already made on the
        primary when the wait starts: Postgres answers the cancel with a warning and keeps the
        local commit. The client cannot tell whether the write will survive a failover, so the
        outcome is ``"unknown"``, not an error. (``statement_timeout`` does not cover that wait.)
        """
        notices: list[str] = []
        start = time.monotonic()

        def on_notice(diag) -> None:
            notices.append(diag.message_primary or "")

        with self.connection() as conn:
            conn.add_notice_handler(on_notice)
            cancel = getattr(conn, "cancel_safe", None) or conn.cancel
            timer = threading.Timer(timeout, cancel)
            timer.start()
            try:
                conn.execute("INSERT INTO kv (key, value) VALUES (%s, %s) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, str(value)))
            except _psycopg().errors.QueryCanceled:
                return WriteOutcome("cancelled", None, time.monotonic() - start)
            finally:
                timer.cancel()
                timer.join()
                conn.remove_notice_handler(on_notice)
            lsn = lsn_to_int(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])
        with self._log_lock:
            self.log.append((lsn, key))
        unknown = any("synchronous replication" in n for n in notices)
        return WriteOutcome("unknown" if unknown else "committed", lsn, time.monotonic() - start)


class PgReplica(_Node):
    """A hot standby streaming from the primary; reads see what it has replayed."""

    @property
    def applied_lsn(self) -> int:
        text = self.value("SELECT pg_last_wal_replay_lsn()::text")
        return lsn_to_int(text) if text else 0

    @property
    def received_lsn(self) -> int:
        text = self.value("SELECT pg_last_wal_receive_lsn()::text")
        return lsn_to_int(text) if text else 0

    def staleness(self) -> float:
        """Seconds since the oldest commit not yet replayed (0 when replay has caught up)."""
        return float(self.value(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() IS NULL"
            " OR pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0"
            " ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END"))


def _chown(path: Path) -> None:
    shutil.chown(path, "postgres", "postgres")


class PostgresReplicaSet:
    """A private primary and ``replicas`` streaming replicas; a context manager.

    >>> with PostgresReplicaSet(replicas=2) as rs:            # doctest: +SKIP
    ...     lsn = rs.primary.write("profile:1", "new")
    ...     rs.set_lag(0, 0.5)
    """

    def __init__(self, replicas: int = 2, *, lag: float = 0.0) -> None:
        reason = available()
        if reason:
            raise RuntimeError(reason)
        self.bin = bin_dir()
        self._prefix = ["runuser", "-u", "postgres", "--"] if _as_root() else []
        self.base = Path(tempfile.mkdtemp(prefix="highload-pg-"))
        # The postgres user must be able to enter the parent of its data dirs.
        self.base.chmod(0o755)
        self._dirs: list[Path] = []
        self._nodes: list[_Node] = []
        self._finalizer = weakref.finalize(self, _stop, self._prefix, str(self.bin / "pg_ctl"),
                                           self._dirs, self._nodes, self.base)
        try:
            self.primary = self._start_primary()
            self.primary.query("CREATE TABLE kv (key text PRIMARY KEY, value text)")
            self.replicas: list[PgReplica] = [self._start_replica(f"replica{i + 1}") for i in range(replicas)]
            for i in range(replicas):
                if lag:
                    self.set_lag(i, lag)
            self.wait_caught_up()
        except BaseException:
            self.close()
            raise

    # -- start -----------------------------------------------------------------------------------
    def _run(self, *argv: str, timeout: float = START_TIMEOUT) -> None:
        done = subprocess.run([*self._prefix, *argv], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if done.returncode:
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()[-800:]}")

    def _data_dir(self, name: str) -> Path:
        path = self.base / name
        path.mkdir(mode=0o700)
        if self._prefix:
            _chown(path)
        return path

    def _pg_ctl_start(self, data: Path) -> None:
        self._dirs.append(data)
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"),
                  "-w", "-t", str(START_TIMEOUT), "start")

    def _start_primary(self) -> PgPrimary:
        data = self._data_dir("primary")
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-N")
        port = free_port()
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(_conf(port, data) + "wal_level = replica\nmax_wal_senders = 10\n"
                       "max_replication_slots = 10\nwal_keep_size = '256MB'\n")
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host replication {USER} 127.0.0.1/32 trust\n")
        self._pg_ctl_start(data)
        node = PgPrimary("primary", port, data)
        self._nodes.append(node)
        return node

    def _start_replica(self, name: str) -> PgReplica:
        data = self._data_dir(name)
        self._run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", USER,
                  "-D", str(data), "-X", "stream", "-c", "fast")
        port = free_port()
        (data / "server.log").unlink(missing_ok=True)
        (data / "standby.signal").touch()
        if self._prefix:
            _chown(data / "standby.signal")
        with open(data / "postgresql.conf", "a") as conf:
            # application_name names the standby in pg_stat_replication and synchronous_standby_names.
            # hot_standby_feedback: without it the primary's vacuum removes rows a long replica
            # query still needs, and the replica cancels that query ("conflict with recovery").
            conf.write(_conf(port, data) + f"primary_conninfo = {_literal(self._conninfo(name))}\n"
                       "hot_standby = on\nhot_standby_feedback = on\n")
        self._pg_ctl_start(data)
        node = PgReplica(name, port, data)
        self._nodes.append(node)
        if not wait_until(lambda: name in self.streaming(), START_TIMEOUT, interval=0.05):
            raise RuntimeError(f"{name} did not start streaming; see {data / 'server.log'}")
        return node

    def _conninfo(self, name: str) -> str:
        return f"host=127.0.0.1 port={self.primary.port} user={USER} application_name={name}"

    # -- knobs -----------------------------------------------------------------------------------
    def describe(self) -> str:
        version = self.primary.value("SHOW server_version")
        return (f"real PostgreSQL {version}: primary on 127.0.0.1:{self.primary.port} + "
                f"{len(self.replicas)} streaming replicas ({', '.join(f'{r.name}:{r.port}' for r in self.replicas)})")

    def replica(self, which: int | str) -> PgReplica:
        return find_replica(self.replicas, which)

    def streaming(self) -> dict[str, str]:
        """``{application_name: state}`` of the standbys connected to the primary."""
        return dict(self.primary.query("SELECT application_name, state FROM pg_stat_replication"))

    def set_lag(self, which: int | str, seconds: float) -> None:
        """Replay each commit ``seconds`` after it was made (``recovery_min_apply_delay``)."""
        ms = round(seconds * 1000)
        # Only the replica's recovery process reads this setting, not client sessions: the pool
        # stays, so the lag can change while sessions are reading.
        self.replica(which).set_config("recovery_min_apply_delay", f"{ms}ms", shown=str(ms), reconnect=False)

    def pause(self, which: int | str) -> None:
        self.replica(which).query("SELECT pg_wal_replay_pause()")

    def resume(self, which: int | str) -> None:
        self.replica(which).query("SELECT pg_wal_replay_resume()")

    def cut(self, which: int | str) -> None:
        """Stop the replica's stream (a partition) and wait until the primary has lost it."""
        r = self.replica(which)
        r.set_config("primary_conninfo", "")
        if not wait_until(lambda: r.name not in self.streaming(), START_TIMEOUT, interval=0.02):
            raise RuntimeError(f"{r.name} still streams after its primary_conninfo was cleared")

    def heal(self, which: int | str) -> None:
        r = self.replica(which)
        r.set_config("primary_conninfo", None)
        wait_until(lambda: r.name in self.streaming(), START_TIMEOUT, interval=0.05)

    def set_synchronous(self, standbys: list[str] | None, level: str = "on") -> None:
        """Commits wait for the first of ``standbys`` (``None``: asynchronous replication);
        ``level`` is ``synchronous_commit`` (``on``: flushed there; ``remote_apply``: replayed)."""
        names = f"FIRST 1 ({', '.join(standbys)})" if standbys else ""
        self.primary.set_config("synchronous_standby_names", names)
        self.primary.set_config("synchronous_commit", level)
        # The walsenders learn their role a moment later; until then commits would not wait.
        want = set(standbys[:1]) if standbys else set()
        wait_until(lambda: {n for n, s in self.primary.query(
            "SELECT application_name, sync_state FROM pg_stat_replication") if s == "sync"} == want,
            START_TIMEOUT, interval=0.02)

    def wait_caught_up(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait until every connected replica has replayed the primary's current position."""
        target = self.primary.lsn
        return wait_until(lambda: all(r.applied_lsn >= target for r in self.replicas
                                      if r.name in self.streaming()), timeout, interval=0.02)

    def promote(self, which: int | str) -> Failover:
        """Fail over to the replica: the old primary is stopped, the replica replays all it has
        received and becomes the primary, and the commits past its received position are lost."""
        r = self.replica(which)
        received = r.received_lsn
        old = self.primary
        with old._log_lock:
            lost = [key for lsn, key in old.log if lsn > received]
            kept = [(lsn, key) for lsn, key in old.log if lsn <= received]
        old.close()
        self._run(str(self.bin / "pg_ctl"), "-D", str(old.data), "-m", "immediate", "stop")
        r.query("SELECT pg_promote(true, 60)")
        promoted = PgPrimary(r.name, r.port, r.data)
        promoted.log = kept
        r.close()
        self._nodes.append(promoted)
        self.primary = promoted
        self.replicas = [x for x in self.replicas if x is not r]
        for other in self.replicas:
            # Follow the new primary on its new timeline (recovery_target_timeline is 'latest').
            other.set_config("primary_conninfo", self._conninfo(other.name))
        return Failover(r.name, received, len(lost), tuple(lost))

    # -- stop ------------------------------------------------------------------------------------
    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> PostgresReplicaSet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresReplicaSet(base={str(self.base)!r}, replicas={len(getattr(self, 'replicas', []))})"


def _conf(port: int, data: Path) -> str:
    return (f"\n# highload\nlisten_addresses = '127.0.0.1'\nport = {port}\n"
            f"unix_socket_directories = {_literal(str(data))}\nfsync = off\nshared_buffers = '16MB'\n"
            "max_connections = 100\nlogging_collector = off\n")


def _stop(prefix: list[str], pg_ctl: str, dirs: list[Path], nodes: list[_Node], base: Path) -> None:
    """Close connections, stop every server this set started, remove its files (finalizer)."""
    for node in nodes:
        node.close()
    for data in dirs:
        if (data / "postmaster.pid").exists():
            subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=START_TIMEOUT, stdin=subprocess.DEVNULL)
    shutil.rmtree(base, ignore_errors=True)
