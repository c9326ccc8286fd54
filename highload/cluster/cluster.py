"""A real multi-instance shop on one machine: N uvicorn processes behind a load balancer.

>>> with Cluster(instances=3, carts="redis") as cluster:      # doctest: +SKIP
...     httpx.post(f"{cluster.url}/cart/c1/items", json={"sku": "book", "qty": 1})
...     cluster.kill(cluster.instances[0].name)                # crash one instance
...     httpx.get(f"{cluster.url}/cart/c1")                    # still there: Redis has it

The balancer is real nginx when it is installed (``lb="auto"``), else the embedded asyncio
proxy of :mod:`highload.cluster.proxy`, labelled as a teaching fallback. Carts in Redis use
``redis_url``/``REDIS_URL`` when given, else a private redis-server when installed, else a
fakeredis TCP server in its own process (a plain FakeRedis cannot be shared across processes).

Every process starts in its own session and is recorded, by pid and start time, in
``STATE_DIR/cluster.json`` as soon as it starts. :meth:`Cluster.stop` (and ``down`` on the
command line) stops exactly those processes, even after the starting process crashed; starting
a cluster in a state directory that holds a previous one stops the previous one first.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from highload import _validate
from highload.nginx import BALANCE_METHODS, NGINX_MISSING, find_nginx, upstream_config
from highload.processes import free_port
from highload.redis_client import answers

from . import processes
from .processes import Managed
from .proxy import LABEL as EMBEDDED_LABEL

__all__ = ["Cluster", "ClusterError", "Instance", "LB_KINDS", "CART_KINDS", "default_state_dir"]

LB_KINDS = ("auto", "nginx", "embedded")
CART_KINDS = ("memory", "redis")
STATE_FILE = "cluster.json"
#: Where the balancer runs and connects from: the only proxy the instances trust.
BALANCER_ADDRESS = "127.0.0.1"
REDIS_MISSING = "redis-server is not installed (apt-get install redis-server): using an embedded fakeredis TCP server"


class ClusterError(RuntimeError):
    """A cluster process did not start; the message quotes its log."""


def default_state_dir() -> Path:
    """Where the command line keeps its cluster: ``HIGHLOAD_CLUSTER_DIR``, else a per-user temp dir."""
    configured = os.environ.get("HIGHLOAD_CLUSTER_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"highload-cluster-{os.getuid()}"


@dataclass(frozen=True)
class Instance:
    """One shop process: ``name`` is its ``X-Served-By``."""

    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class Cluster:
    """``instances`` shop processes behind one load balancer. Use as a context manager, or call
    :meth:`start` and :meth:`stop`.

    ``balance`` is one of ``round_robin``, ``least_conn``, ``ip_hash``, ``cookie`` (sticky by the
    ``sticky_cookie`` cookie). ``max_fails``/``fail_timeout`` are the balancer's passive health
    check. ``max_in_flight``/``io_delay`` give every instance a fixed capacity
    (:mod:`highload.shop.capacity`). ``state_dir=None`` uses a private temporary directory.
    """

    def __init__(self, instances: int = 3, *, lb: str = "auto", balance: str = "round_robin",
                 carts: str = "redis", redis_url: str | None = None, max_fails: int = 1,
                 fail_timeout: float = 10.0, sticky_cookie: str = "session",
                 max_in_flight: int | None = None, io_delay: float = 0.0,
                 state_dir: str | os.PathLike | None = None, startup_timeout: float = 30.0) -> None:
        self.n_instances = _validate.integer("instances", instances, minimum=1)
        self.lb = _validate.choice("lb", lb, LB_KINDS)
        self.balance = _validate.choice("balance", balance, BALANCE_METHODS)
        self.carts = _validate.choice("carts", carts, CART_KINDS)
        self.max_fails = _validate.integer("max_fails", max_fails, minimum=0)
        # finite, at most 10 years: it is written into the balancer's config (nginx reads no "inf")
        self.fail_timeout = _validate.seconds("fail_timeout", fail_timeout)
        self.sticky_cookie = sticky_cookie
        self.startup_timeout = _validate.number("startup_timeout", startup_timeout, minimum=0, inclusive=False)
        if max_in_flight is not None:
            _validate.integer("max_in_flight", max_in_flight, minimum=1)
        self.max_in_flight = max_in_flight
        self.io_delay = _validate.seconds("io_delay", io_delay, inclusive=True)  # as ShopSettings, at once
        if self.io_delay and max_in_flight is None:
            raise ValueError(f"io_delay={io_delay!r} needs max_in_flight")
        if redis_url is not None and not isinstance(redis_url, str):
            raise TypeError(f"redis_url must be a redis:// URL string, got {redis_url!r}")
        self._redis_url_given = redis_url or os.environ.get("REDIS_URL") or None
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.redis_url: str | None = None
        self.redis_kind = "none"
        self.lb_kind = ""
        self.port = 0
        self.instances: list[Instance] = []
        self._managed: dict[str, Managed] = {}
        self._popens: dict[str, subprocess.Popen] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Cluster:
        """Start Redis (if needed), the instances and the balancer; wait until all answer."""
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="highload-cluster-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stop_recorded(self.state_dir)  # a previous cluster here, or the remains of a crashed one
        atexit.register(self.stop)
        try:
            if self.carts == "redis":
                self._start_redis()
            for i in range(1, self.n_instances + 1):
                self._start_instance(Instance(f"shop-{i}", free_port()))
            self._start_balancer()
        except BaseException:
            self.stop()
            raise
        return self

    def detach(self) -> None:
        """Leave the processes running after this Python process exits (the command line's
        ``up``); ``down`` or :func:`stop_recorded` on the state directory stops them."""
        if self._own_state_dir:
            raise ValueError("detach() needs an explicit state_dir, or nothing could find the cluster again")
        atexit.unregister(self.stop)
        self._popens.clear()

    def stop(self) -> None:
        """Stop every process this cluster started (balancer first); safe to call twice."""
        atexit.unregister(self.stop)
        order = sorted(self._managed.values(), key=lambda m: ("balancer", "instance", "redis").index(m.role))
        for managed in order:
            processes.stop(managed, self._popens.get(managed.name))
        self._managed.clear()
        self._popens.clear()
        if self.state_dir is not None:
            (self.state_dir / STATE_FILE).unlink(missing_ok=True)
            if self._own_state_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)
                self.state_dir = None

    # -- what is running ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The balancer's URL: what clients use."""
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        """One line per part, for lesson output and the command line."""
        balancer = (f"nginx ({self.balance})" if self.lb_kind == "nginx"
                    else f"{EMBEDDED_LABEL} ({self.balance})")
        lines = [f"load balancer  {self.url}  {balancer}"]
        lines += [f"instance       {i.url}  {i.name}  carts={self.carts}" for i in self.instances]
        if self.carts == "redis":
            lines.append(f"carts store    {self.redis_url}  {self.redis_kind}")
        return "\n".join(lines)

    def instance(self, name: str) -> Instance:
        for found in self.instances:
            if found.name == name:
                return found
        raise ValueError(f"name must be one of {[i.name for i in self.instances]}, got {name!r}")

    def is_alive(self, name: str) -> bool:
        managed = self._managed.get(name)
        return managed is not None and processes.is_running(managed)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Crash instance ``name`` (SIGKILL by default: no graceful shutdown, like a power cut)."""
        self.instance(name)
        managed = self._managed.get(name)
        if managed is not None:
            processes.stop(managed, self._popens.pop(name, None), sig=sig)
            del self._managed[name]
            self._save()

    def restart(self, name: str) -> None:
        """Start instance ``name`` again on its old port (after :meth:`kill`)."""
        instance = self.instance(name)
        if self.is_alive(name):
            raise ValueError(f"instance {name!r} is running; kill it first")
        self._start_instance(instance, register=False)

    # -- starting each part ------------------------------------------------------------------

    def _spawn(self, name: str, role: str, argv: list[str], port: int) -> Managed:
        managed, popen = processes.spawn(name, role, argv, port, self.state_dir / "logs")
        self._managed[name], self._popens[name] = managed, popen
        self._save()  # recorded before waiting: a crash from here on leaves nothing unowned
        return managed

    def _failed(self, managed: Managed, what: str) -> ClusterError:
        log = Path(managed.log).read_text(errors="replace").strip()[-2000:] if Path(managed.log).exists() else ""
        return ClusterError(f"{what} did not start on port {managed.port} "
                            f"(see {managed.log}): {log or 'no output'}")

    def _wait_healthy(self, url: str, managed: Managed, what: str) -> None:
        """Until ``url/health`` answers 200; fail at once, quoting its log, if the process exits."""
        processes.wait_until(lambda: _healthy(url) or not processes.is_running(managed), self.startup_timeout)
        if not _healthy(url):
            raise self._failed(managed, what)

    def _start_redis(self) -> None:
        if self._redis_url_given:
            self.redis_url, self.redis_kind = self._redis_url_given, "given (REDIS_URL)"
            return
        port = free_port()
        server = shutil.which("redis-server")
        if server:
            argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--protected-mode", "yes"]
            self.redis_kind = "redis-server (private)"
        else:
            argv = [sys.executable, "-m", "highload.cluster.embedded_redis", "--port", str(port)]
            self.redis_kind = f"embedded fakeredis TCP server ({REDIS_MISSING})"
        managed = self._spawn("redis", "redis", argv, port)
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        if not processes.wait_until(lambda: answers(self.redis_url), self.startup_timeout):
            raise self._failed(managed, "Redis")

    def _instance_argv(self, instance: Instance) -> list[str]:
        # The balancer (nginx or the embedded proxy) connects from BALANCER_ADDRESS and overwrites
        # X-Forwarded-For: the instances believe that header from it and from nobody else.
        argv = [sys.executable, "-m", "highload.shop", "--port", str(instance.port),
                "--instance-id", instance.name, "--carts", self.carts,
                "--trusted-proxy", BALANCER_ADDRESS]
        if self.redis_url:
            argv += ["--redis-url", self.redis_url]
        if self.max_in_flight is not None:
            argv += ["--max-in-flight", str(self.max_in_flight), "--io-delay", repr(self.io_delay)]
        return argv

    def _start_instance(self, instance: Instance, register: bool = True) -> None:
        managed = self._spawn(instance.name, "instance", self._instance_argv(instance), instance.port)
        if register:
            self.instances.append(instance)
        self._wait_healthy(instance.url, managed, f"shop instance {instance.name}")

    def _start_balancer(self) -> None:
        nginx = find_nginx()
        if self.lb == "nginx" and nginx is None:
            raise FileNotFoundError(NGINX_MISSING)
        self.port = free_port()
        upstreams = [i.address for i in self.instances]
        if self.lb != "embedded" and nginx is not None:
            self.lb_kind = "nginx"
            prefix = self.state_dir / "nginx"
            prefix.mkdir(parents=True, exist_ok=True)
            # Try every instance before giving up: a dead one must cost a retry, not an error.
            conf = upstream_config(upstreams, listen_port=self.port, balance=self.balance,
                                   sticky_cookie=self.sticky_cookie, max_fails=self.max_fails,
                                   fail_timeout=self.fail_timeout,
                                   next_upstream="error timeout http_502 http_504",
                                   next_upstream_tries=len(upstreams), read_timeout=30)
            (prefix / "nginx.conf").write_text(conf)
            argv = [nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
        else:
            self.lb_kind = "embedded"
            argv = [sys.executable, "-m", "highload.cluster.proxy", "--port", str(self.port),
                    "--balance", self.balance, "--max-fails", str(self.max_fails),
                    "--fail-timeout", repr(self.fail_timeout), "--sticky-cookie", self.sticky_cookie]
            argv += [arg for address in upstreams for arg in ("--upstream", address)]
        managed = self._spawn("balancer", "balancer", argv, self.port)
        self._wait_healthy(self.url, managed, f"the {self.lb_kind} load balancer")

    # -- the state file ----------------------------------------------------------------------

    def _save(self) -> None:
        state = {"url": self.url, "lb": self.lb_kind, "balance": self.balance, "carts": self.carts,
                 "redis_url": self.redis_url, "redis_kind": self.redis_kind,
                 "processes": [m.as_dict() for m in self._managed.values()]}
        path = self.state_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)  # atomic: a reader never sees half a file


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def read_state(state_dir: Path) -> dict | None:
    """The recorded cluster in ``state_dir``, or None (no file, or a file cut short by a crash)."""
    try:
        return json.loads((Path(state_dir) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def stop_recorded(state_dir: Path) -> list[str]:
    """Stop every process recorded in ``state_dir`` that is still the one started; forget them.

    Returns the names of the processes that were still running.
    """
    state = read_state(state_dir)
    stopped = []
    for record in (state or {}).get("processes", []):
        with contextlib.suppress(TypeError, KeyError):
            if processes.stop(Managed(**record)):
                stopped.append(record["name"])
    (Path(state_dir) / STATE_FILE).unlink(missing_ok=True)
    return stopped
