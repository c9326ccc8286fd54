"""A real Redis Cluster on loopback: N masters (optionally one replica each), started with
``redis-server --cluster-enabled yes`` and ``redis-cli --cluster create``, stopped by process
group, and nothing else touched.

    with LocalCluster(masters=3, replicas=1) as cluster:
        client = cluster.client()                  # redis-py's RedisCluster
        client.set("{user:42}:cart", "...")
        cluster.migrate_slots(range(0, 100), to=cluster.masters()[1])
        cluster.failover(cluster.masters()[0])     # CLUSTER FAILOVER on its replica

Ports: the cluster bus listens on port + 10000, so every node's port P is drawn from
20000–22767 (see :data:`PORT_RANGE`) with both P and P + 10000 free.
"""

from __future__ import annotations

import atexit
import contextlib
import random
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.exceptions import AskError, MovedError

from ..processes import kill_group, spawn, wait_until
from .slots import SLOTS, key_slot

__all__ = ["LocalCluster", "ClusterNode", "ClusterUnavailable", "SlotClient", "PORT_RANGE",
           "INSTALL_HINT", "key_slot", "cluster_ports"]

#: Node ports: P + 10000 (the cluster bus) must stay below 32768, where Linux's ephemeral range starts.
PORT_RANGE = (20000, 22767)
BUS_OFFSET = 10000
HOST = "127.0.0.1"
INSTALL_HINT = ("Redis Cluster needs redis-server and redis-cli >= 7: "
                "`sudo apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS), "
                "or `conda install -c conda-forge redis`")


class ClusterUnavailable(RuntimeError):
    """redis-server/redis-cli are missing, or the cluster did not come up (the message says which)."""


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def cluster_ports(count: int, rng: random.Random | None = None) -> list[int]:
    """``count`` ports P in :data:`PORT_RANGE` with P and P + 10000 both free right now."""
    rng = rng or random.SystemRandom()
    low, high = PORT_RANGE
    chosen: list[int] = []
    for _ in range(200 * count):
        port = rng.randint(low, high)
        taken = {p for c in chosen for p in (c, c + BUS_OFFSET)}
        if port in taken or port + BUS_OFFSET in taken:
            continue
        if _free(port) and _free(port + BUS_OFFSET):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise ClusterUnavailable(f"found only {len(chosen)} of {count} free port pairs in {PORT_RANGE}")


@dataclass
class ClusterNode:
    port: int
    directory: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def connection(self, **kwargs) -> redis.Redis:
        kwargs.setdefault("socket_connect_timeout", 2)
        kwargs.setdefault("socket_timeout", 5)
        return redis.Redis(host=HOST, port=self.port, decode_responses=True, **kwargs)

    def node_id(self) -> str:
        with self.connection() as r:
            return r.execute_command("CLUSTER", "MYID")

    def role(self) -> str:
        with self.connection() as r:
            return r.info("replication")["role"]

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class LocalCluster:
    """``LocalCluster(masters=3, replicas=0, node_timeout_ms=2000)``; ``start()``/``stop()`` or ``with``.

    ``node_timeout_ms`` is how long a master may be silent before its replica takes over on its
    own (Redis's default is 15 s; 2 s keeps the lesson's "kill a master" cell short).
    """

    def __init__(self, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 2000,
                 redis_server: str | None = None, redis_cli: str | None = None) -> None:
        if masters < 3:
            raise ValueError(f"masters must be >= 3 (redis-cli --cluster create needs three), got {masters}")
        if replicas not in (0, 1):
            raise ValueError(f"replicas must be 0 or 1 per master, got {replicas}")
        self.masters_count, self.replicas, self.node_timeout_ms = masters, replicas, node_timeout_ms
        self._server = redis_server or shutil.which("redis-server")
        self._cli = redis_cli or shutil.which("redis-cli")
        self.nodes: list[ClusterNode] = []
        self._root: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> LocalCluster:
        if not self._server or not self._cli:
            raise ClusterUnavailable(INSTALL_HINT)
        self._root = Path(tempfile.mkdtemp(prefix="highload-cluster-"))
        # A notebook kernel that exits without stop() must not leave servers behind.
        atexit.register(self.stop)
        try:
            self._start_nodes(timeout)
            create = [self._cli, "--cluster", "create", *(n.address for n in self.nodes),
                      "--cluster-replicas", str(self.replicas), "--cluster-yes"]
            done = subprocess.run(create, capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                raise ClusterUnavailable(f"redis-cli --cluster create failed:\n{done.stdout}\n{done.stderr}")
            if not wait_until(self._ready, timeout, interval=0.1):
                raise ClusterUnavailable("the cluster did not reach cluster_state:ok with every replica in sync")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop exactly the processes this cluster started, and remove its files."""
        for node in self.nodes:
            if node.process is not None:
                kill_group(node.process)
        self.nodes = []
        atexit.unregister(self.stop)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start_nodes(self, timeout: float, attempts: int = 3) -> None:
        """Start every node. A port that was free when drawn can be taken before redis-server
        binds it (another cluster starting at the same moment): such a node exits at once, and
        it is started again on a port drawn afresh."""
        ports = cluster_ports(self.masters_count * (1 + self.replicas))
        self.nodes = [self._start_node(port) for port in ports]
        for i, node in enumerate(self.nodes):
            for _ in range(attempts):
                if wait_until(lambda n=node: self._pings(n), timeout, process=node.process):
                    break
                if node.process.poll() is None:
                    raise ClusterUnavailable(f"redis-server on port {node.port} did not answer; see {node.directory}/log")
                taken = {n.port for n in self.nodes}
                port = next(p for p in cluster_ports(len(taken) + 1) if p not in taken)
                node = self.nodes[i] = self._start_node(port)
            else:
                raise ClusterUnavailable(f"redis-server exited on {attempts} ports; see {node.directory}/log")

    def _start_node(self, port: int) -> ClusterNode:
        assert self._root is not None
        directory = self._root / str(port)
        directory.mkdir()
        argv = [self._server, "--port", str(port), "--bind", HOST, "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", str(self.node_timeout_ms),
                "--save", "", "--appendonly", "no", "--dir", str(directory),
                "--logfile", str(directory / "log")]
        return ClusterNode(port, directory, spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    @staticmethod
    def _pings(node: ClusterNode) -> bool:
        """Our redis-server answers on its port (not another one that holds the port)."""
        try:
            with node.connection(socket_timeout=0.5, socket_connect_timeout=0.5) as r:
                return r.info("server")["process_id"] == node.process.pid
        except redis.RedisError:
            return False

    def _ready(self) -> bool:
        try:
            for node in self.running():
                with node.connection() as r:
                    if "cluster_state:ok" not in r.execute_command("CLUSTER", "INFO"):
                        return False
                    info = r.info("replication")
                    if info["role"] == "slave" and info.get("master_link_status") != "up":
                        return False
            return self._slots_agree()
        except redis.RedisError:
            return False

    def _slots_agree(self) -> bool:
        views = []
        for node in self.running():
            with node.connection() as r:
                views.append(sorted((s[0], s[1], s[2][1]) for s in r.execute_command("CLUSTER", "SLOTS")))
        return all(v == views[0] for v in views) and sum(b - a + 1 for a, b, _ in views[0]) == SLOTS

    # -- views -----------------------------------------------------------------------------------
    def running(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.alive]

    def masters(self) -> list[ClusterNode]:
        """Live masters, by port."""
        return sorted((n for n in self.running() if n.role() == "master"), key=lambda n: n.port)

    def replicas_of(self, master: ClusterNode) -> list[ClusterNode]:
        master_id = master.node_id()
        with master.connection() as r:
            lines = r.execute_command("CLUSTER", "NODES")
        ports = {int(line.split()[1].split(":")[1].split("@")[0]) for line in _lines(lines)
                 if line.split()[3] == master_id}
        return [n for n in self.running() if n.port in ports]

    def slots(self) -> dict[str, list[tuple[int, int]]]:
        """Slot ranges per master address, as ``CLUSTER SLOTS`` reports them."""
        with self.running()[0].connection() as r:
            out: dict[str, list[tuple[int, int]]] = {}
            for start, end, owner, *_ in r.execute_command("CLUSTER", "SLOTS"):
                out.setdefault(f"{owner[0]}:{owner[1]}", []).append((start, end))
        return {k: sorted(v) for k, v in sorted(out.items())}

    def owner(self, slot: int) -> ClusterNode:
        for address, ranges in self.slots().items():
            if any(a <= slot <= b for a, b in ranges):
                return next(n for n in self.running() if n.address == address)
        raise LookupError(f"no node serves slot {slot}")

    def client(self, **kwargs) -> redis.cluster.RedisCluster:
        """redis-py's cluster client, with explicit timeouts."""
        from redis.cluster import ClusterNode as Startup
        from redis.cluster import RedisCluster

        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("socket_connect_timeout", 2)
        kwargs.setdefault("socket_timeout", 5)
        return RedisCluster(startup_nodes=[Startup(HOST, n.port) for n in self.running()], **kwargs)

    # -- operations ------------------------------------------------------------------------------
    def migrate_slots(self, slots, to: ClusterNode, batch: int = 100) -> int:
        """Move ``slots`` to ``to`` with Redis's own protocol (SETSLOT IMPORTING/MIGRATING,
        MIGRATE the keys, SETSLOT NODE everywhere); clients see ASK while a slot moves and
        MOVED after. Returns how many keys moved."""
        target_id = to.node_id()
        moved = 0
        for slot in slots:
            source = self.owner(slot)
            if source.port == to.port:
                continue
            source_id = source.node_id()
            with source.connection() as src, to.connection() as dst:
                dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
                src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
                while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch):
                    src.execute_command("MIGRATE", HOST, to.port, "", 0, 5000, "KEYS", *keys)
                    moved += len(keys)
                # The target first, so the slot is never owned by nobody (the documented order).
                dst.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
                src.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
            for node in self.masters():
                if node.port not in (source.port, to.port):
                    with node.connection() as r:
                        r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        return moved

    def failover(self, master: ClusterNode, timeout: float = 20) -> ClusterNode:
        """``CLUSTER FAILOVER`` on ``master``'s replica (a coordinated, lossless switch);
        returns the replica once it is master and the cluster is ok again."""
        replicas = self.replicas_of(master)
        if not replicas:
            raise ValueError(f"{master.address} has no replica: start the cluster with replicas=1")
        replica = replicas[0]
        with replica.connection() as r:
            r.execute_command("CLUSTER", "FAILOVER")
        if not wait_until(lambda: replica.role() == "master" and self._ready(), timeout, interval=0.1):
            raise ClusterUnavailable(f"{replica.address} did not take over from {master.address}")
        return replica

    def kill(self, node: ClusterNode) -> None:
        """Kill one node's process (a crash, for the automatic-failover demo)."""
        if node.process is not None:
            kill_group(node.process)


def _lines(text) -> list[str]:
    return [line for line in (text.splitlines() if isinstance(text, str) else text) if line.strip()]


class SlotClient:
    """A minimal cluster-aware client that *counts* redirections: it keeps its own slot map,
    follows ``MOVED`` (update the map, retry) and ``ASK`` (send ``ASKING`` then the command to
    the importing node, map unchanged). redis-py's ``RedisCluster`` does the same silently;
    this one is for watching a live reshard."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.moved = 0
        self.asked = 0
        self._map: list[int] = [0] * SLOTS
        self._pools: dict[int, redis.Redis] = {}
        self.refresh()

    def refresh(self) -> None:
        with self.cluster.running()[0].connection() as r:
            for start, end, owner, *_ in r.execute_command("CLUSTER", "SLOTS"):
                self._map[start:end + 1] = [int(owner[1])] * (end - start + 1)

    def _node(self, port: int) -> redis.Redis:
        if port not in self._pools:
            self._pools[port] = redis.Redis(host=HOST, port=port, decode_responses=True,
                                            socket_connect_timeout=2, socket_timeout=5)
        return self._pools[port]

    def execute(self, key: str, *args):
        """Run ``args`` (a command on ``key``) on the node that serves ``key``'s slot."""
        slot = key_slot(key)
        for _ in range(5):
            try:
                return self._node(self._map[slot]).execute_command(*args)
            except MovedError as e:
                self.moved += 1
                self._map[e.slot_id] = int(e.port)
            except AskError as e:
                self.asked += 1
                pipe = self._node(int(e.port)).pipeline(transaction=False)
                pipe.execute_command("ASKING")
                pipe.execute_command(*args)
                return pipe.execute()[1]
        raise redis.RedisError(f"too many redirections for {key!r}")

    def set(self, key: str, value) -> bool:
        return self.execute(key, "SET", key, value)

    def get(self, key: str):
        return self.execute(key, "GET", key)

    def close(self) -> None:
        for pool in self._pools.values():
            with contextlib.suppress(Exception):
                pool.close()
        self._pools.clear()
