"""A real Redis primary with replicas, started privately on loopback ports: lesson 04's short
Redis demo next to the Postgres one.

``RedisReplicaSet(replicas=1)`` starts ``redis-server`` as a primary and each replica with
``--replicaof``, each in its own process group, in a temp dir; :meth:`RedisReplicaSet.close`
(also run by a finalizer) stops exactly those processes and removes the dir. Needs
``redis-server`` (Debian: ``redis-server``); redis-py is a core dependency.

What it shows, all of it Redis itself:

* positions: the primary's ``master_repl_offset`` and each replica's ``slave_repl_offset``
  (bytes of the replication stream; pings and ``WAIT``'s acknowledgement requests count too),
  and the primary's view of each replica (acknowledged offset, seconds since its last ack);
* ``WAIT numreplicas timeout``: how many replicas acknowledged this connection's writes;
* ``min-replicas-to-write`` / ``min-replicas-max-lag``: the primary refuses writes
  (``NOREPLICAS``) while fewer replicas than that have acknowledged within the lag;
* a partition: :meth:`RedisReplicaSet.cut` points the replica at a port that refuses
  connections (``REPLICAOF`` to an address this set holds bound but never listens on). The
  replica stays a read-only replica with its data and serves it stale, as a partitioned one
  does; the primary sees the link close at once, so nothing in the demo waits for a timeout.
  (``REPLICAOF NO ONE`` would promote it on the spot, skipping the partition; ``DEBUG SLEEP``
  or ``CLIENT PAUSE`` stall it for a wall-clock time, which a test would have to wait out.)
  :meth:`RedisReplicaSet.promote` then fails over to it, and the writes it never received
  are lost.

Redis replication is asynchronous, and Redis stays **AP**: its own documentation says ``WAIT``
does not make Redis strongly consistent (an acknowledged write can still be lost when a replica
that missed it is promoted), and ``min-replicas-to-write`` only narrows the window of lost
writes to about ``min-replicas-max-lag`` seconds. Redis has no apply delay either (a replica
applies what it receives at once), so lag is taught on Postgres and the simulation.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from highload import _validate
from highload.processes import free_port, kill_group, spawn, wait_until

from .base import Failover, find_replica

__all__ = ["RedisReplicaSet", "RedisPrimary", "RedisReplica", "Positions", "ReplicaLink", "available",
           "INSTALL_HINT", "MAX_WAIT"]

HOST = "127.0.0.1"
START_TIMEOUT = 30
#: Longest ``WAIT`` :meth:`RedisPrimary.wait` sends; the write connection's socket timeout is
#: a little longer, so a WAIT that times out on the server is never cut short by the client.
MAX_WAIT = 10.0
INSTALL_HINT = ("Redis replicas need redis-server: `sudo apt-get install redis-server` (Debian/Ubuntu), "
                "`brew install redis` (macOS) or `conda install -c conda-forge redis`")


def available() -> str | None:
    """``None`` if a replica set can start here, else the reason it cannot."""
    return None if shutil.which("redis-server") else INSTALL_HINT


@dataclass(frozen=True)
class ReplicaLink:
    """The primary's view of one replica: ``offset`` it last acknowledged, ``lag`` seconds since
    that acknowledgement (replicas ack every second), ``state`` (``online`` once synced)."""

    name: str
    port: int
    state: str
    offset: int
    lag: int


@dataclass(frozen=True)
class Positions:
    """One look at the replication stream: the primary's end, what each replica has applied
    (its own ``slave_repl_offset``), and the links the primary sees."""

    primary: int
    applied: dict[str, int]
    links: tuple[ReplicaLink, ...]

    def behind(self, name: str) -> int:
        """Bytes of the stream the replica has not applied yet."""
        return self.primary - self.applied[name]


class _Node:
    """One redis-server process and a bounded client to it."""

    def __init__(self, name: str, port: int, process: subprocess.Popen, log: Path) -> None:
        self.name, self.port, self.process, self.log = name, port, process, log
        self.client = redis.Redis(host=HOST, port=port, decode_responses=True,
                                  socket_connect_timeout=2, socket_timeout=5)

    def info(self) -> dict[str, Any]:
        return self.client.info("replication")

    def read(self, key: str) -> Any:
        return self.client.get(key)

    def answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, port={self.port})"


class RedisPrimary(_Node):
    """Takes every write; ``write`` returns ``master_repl_offset`` read right after the write."""

    def __init__(self, name, port, process, log) -> None:
        super().__init__(name, port, process, log)
        # WAIT counts acknowledgements of *this connection's* writes, so writes and WAIT share
        # one connection: a pool of one, which pipelines use too (single_connection_client does
        # not cover pipelines). A WAIT on a connection that never wrote returns at once, with
        # every replica counted.
        self._writer = redis.Redis(connection_pool=redis.BlockingConnectionPool(
            host=HOST, port=port, decode_responses=True, max_connections=1, timeout=MAX_WAIT + 2,
            socket_connect_timeout=2, socket_timeout=MAX_WAIT + 2))
        self.log: list[tuple[int, str]] = []        # (offset after the write, key) of every write here
        self._log_lock = threading.Lock()

    @property
    def lsn(self) -> int:
        return int(self.info()["master_repl_offset"])

    def write(self, key: str, value: Any) -> int:
        """SET ``key``; the offset returned is at or past the end of this write in the stream.

        One round trip: SET then INFO in a plain pipeline. Not MULTI/EXEC: inside a transaction
        the SET is propagated only at EXEC, after INFO has read the offset, so it would be short.
        """
        with self._writer.pipeline(transaction=False) as pipe:
            pipe.set(key, value)
            pipe.info("replication")
            # Raise the SET's own error (NOREPLICAS, READONLY), not redis-py's pipeline wrapper of it.
            written, info = pipe.execute(raise_on_error=False)
        if isinstance(written, Exception):
            raise written
        offset = int(info["master_repl_offset"])
        with self._log_lock:
            self.log.append((offset, key))
        return offset

    def wait(self, replicas: int, timeout: float) -> int:
        """``WAIT replicas timeout``: block until ``replicas`` replicas have acknowledged every
        write made through :meth:`write`, or ``timeout`` seconds pass; return how many did."""
        replicas = _validate.integer("replicas", replicas, minimum=0)
        timeout = _validate.number("timeout", timeout, minimum=0, inclusive=False)
        if timeout > MAX_WAIT:
            raise ValueError(f"timeout must be <= {MAX_WAIT} s, got {timeout!r}")
        # WAIT 0 would block forever: a positive timeout rounds up to at least 1 ms.
        return int(self._writer.execute_command("WAIT", replicas, max(1, math.ceil(timeout * 1000))))

    def close(self) -> None:
        self._writer.connection_pool.disconnect()
        self.client.close()


class RedisReplica(_Node):
    """A replica: read-only, applies the primary's stream as it arrives."""

    @property
    def applied_lsn(self) -> int:
        return int(self.info().get("slave_repl_offset", 0))

    def link_up(self) -> bool:
        return self.info().get("master_link_status") == "up"

    def staleness(self) -> float:
        """Seconds since the link to the primary went down (0 while it is up: Redis applies what
        it receives at once, so a connected replica is behind by the network's delay only)."""
        info = self.info()
        return 0.0 if info.get("master_link_status") == "up" else float(info.get("master_link_down_since_seconds", 0))

    def close(self) -> None:
        self.client.close()


class RedisReplicaSet:
    """A private Redis primary and ``replicas`` replicas; a context manager.

    >>> with RedisReplicaSet(replicas=1) as rs:             # doctest: +SKIP
    ...     rs.primary.write("k", "v")
    ...     rs.primary.wait(1, timeout=1.0)                 # replicas that acknowledged
    1
    """

    def __init__(self, replicas: int = 1, *, redis_server: str | None = None) -> None:
        count = _validate.integer("replicas", replicas, minimum=1)
        self._exe = redis_server or shutil.which("redis-server")
        if not self._exe:
            raise RuntimeError(INSTALL_HINT)
        self.base = Path(tempfile.mkdtemp(prefix="highload-redis-repl-"))
        # Bound, never listening: a replica pointed here is refused at once, every retry (see cut).
        self._nowhere = socket.socket()
        self._nowhere.bind((HOST, 0))
        self._processes: list[subprocess.Popen] = []
        self._nodes: list[_Node] = []
        self._finalizer = weakref.finalize(self, _stop, self._processes, self._nodes, self._nowhere, self.base)
        try:
            self.primary: RedisPrimary = self._start(RedisPrimary, "primary", [])
            self.replicas: list[RedisReplica] = [
                self._start(RedisReplica, f"replica{i + 1}", ["--replicaof", HOST, str(self.primary.port)])
                for i in range(count)]
            for replica in self.replicas:
                self._wait_linked(replica)
        except BaseException:
            self.close()
            raise

    def _start(self, kind, name: str, extra: list[str]):
        port = free_port()
        directory = self.base / name
        directory.mkdir()
        log = directory / "redis.log"
        # No persistence (a demo); a replica syncs at once instead of waiting 5 s for company.
        argv = [self._exe, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                "--dir", str(directory), "--logfile", str(log), "--repl-diskless-sync-delay", "0", *extra]
        process = spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._processes.append(process)
        node = kind(name, port, process, log)
        self._nodes.append(node)
        if not wait_until(node.answers, START_TIMEOUT, process=process):
            raise RuntimeError(f"redis-server {name} on port {port} did not start; see {log}")
        return node

    def _linked(self, replica: RedisReplica) -> bool:
        return replica.link_up() and any(link.name == replica.name and link.state == "online"
                                         for link in self.positions().links)

    def _wait_linked(self, replica: RedisReplica) -> None:
        if not wait_until(lambda: self._linked(replica), START_TIMEOUT, interval=0.02, process=replica.process):
            raise RuntimeError(f"{replica.name} did not sync with the primary; see {replica.log}")

    # -- what it shows ---------------------------------------------------------------------------
    def describe(self) -> str:
        version = self.primary.client.info("server")["redis_version"]
        names = ", ".join(f"{r.name}:{r.port}" for r in self.replicas)
        return f"real Redis {version}: primary on {HOST}:{self.primary.port} + {len(self.replicas)} replicas ({names})"

    def replica(self, which: int | str) -> RedisReplica:
        return find_replica(self.replicas, which)

    def positions(self) -> Positions:
        info = self.primary.info()
        by_port = {r.port: r.name for r in self.replicas}
        links = tuple(
            ReplicaLink(by_port.get(int(s["port"]), f"{s['ip']}:{s['port']}"), int(s["port"]), s["state"],
                        int(s["offset"]), int(s["lag"]))
            for k, s in sorted(info.items()) if k.startswith("slave") and isinstance(s, dict))
        applied = {r.name: r.applied_lsn for r in self.replicas}
        return Positions(int(info["master_repl_offset"]), applied, links)

    def require_replicas(self, count: int, max_lag: int = 10) -> None:
        """``min-replicas-to-write count`` + ``min-replicas-max-lag max_lag``: the primary refuses
        writes (``NOREPLICAS``) unless ``count`` replicas acknowledged within ``max_lag`` s.
        ``count=0`` turns the check off."""
        count = _validate.integer("count", count, minimum=0)
        max_lag = _validate.integer("max_lag", max_lag, minimum=1)
        self.primary.client.config_set("min-replicas-max-lag", max_lag)
        self.primary.client.config_set("min-replicas-to-write", count)

    # -- partitions and failover -----------------------------------------------------------------
    def cut(self, which: int | str) -> None:
        """Partition the replica from the primary: it keeps its data (served stale, read-only)
        and stops receiving; returns once the primary has dropped the link."""
        r = self.replica(which)
        r.client.execute_command("REPLICAOF", HOST, self._nowhere.getsockname()[1])
        if not wait_until(lambda: all(link.name != r.name for link in self.positions().links), START_TIMEOUT):
            raise RuntimeError(f"the primary still lists {r.name} after it was cut")

    def heal(self, which: int | str) -> None:
        """Reconnect a cut replica to the primary and wait until it has caught up."""
        r = self.replica(which)
        r.client.execute_command("REPLICAOF", HOST, self.primary.port)
        self._wait_linked(r)

    def promote(self, which: int | str) -> Failover:
        """Fail over to the replica: the old primary is stopped, the replica becomes the primary
        (``REPLICAOF NO ONE``), the others follow it, and the writes past the offset it had
        applied are lost."""
        r = self.replica(which)
        received = r.applied_lsn
        old = self.primary
        with old._log_lock:
            lost = [key for offset, key in old.log if offset > received]
            kept = [(offset, key) for offset, key in old.log if offset <= received]
        old.close()
        kill_group(old.process)
        r.client.execute_command("REPLICAOF", "NO", "ONE")
        r.close()
        promoted = RedisPrimary(r.name, r.port, r.process, r.log)
        promoted.log = kept
        self._nodes.append(promoted)
        self.primary = promoted
        self.replicas = [x for x in self.replicas if x is not r]
        for other in self.replicas:
            other.client.execute_command("REPLICAOF", HOST, promoted.port)
        for other in self.replicas:
            self._wait_linked(other)
        return Failover(r.name, received, len(lost), tuple(lost))

    # -- stop ------------------------------------------------------------------------------------
    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> RedisReplicaSet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedisReplicaSet(base={str(self.base)!r}, replicas={len(getattr(self, 'replicas', []))})"


def _stop(processes: list[subprocess.Popen], nodes: list[_Node], nowhere: socket.socket, base: Path) -> None:
    """Close clients, stop every process this set started (by process group), remove its files."""
    for node in nodes:
        node.close()
    for process in processes:
        kill_group(process)
    nowhere.close()
    shutil.rmtree(base, ignore_errors=True)
