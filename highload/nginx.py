"""Run a real nginx, without root, from a generated config: passive health checks in practice.

Open-source nginx has no circuit breaker, but its upstream module gives a simple one:
``max_fails`` failures within ``fail_timeout`` take a server out of rotation for
``fail_timeout``; after that nginx lets exactly one trial request through per ``fail_timeout``
(``ngx_http_upstream_get_peer`` marks the server checked), and one success puts it back.
``proxy_next_upstream`` passes a failed request to the next server (at most
``proxy_next_upstream_tries`` servers), but not a non-idempotent one (POST, PATCH, LOCK) that
already reached an upstream, unless the conditions include ``non_idempotent`` (nginx >= 1.9.13):
such a POST's failure reaches the client. When no server answers, the client gets 502 (refused,
reset) or 504 (timed out). A ``backup`` server only gets traffic once every primary is down. :func:`upstream_config` writes that setup, and :func:`run_nginx`
runs it::

    conf = upstream_config(["127.0.0.1:8001", "127.0.0.1:8002"], backup=["127.0.0.1:8003"])
    with run_nginx(conf) as nginx:
        httpx.get(nginx.url)

nginx runs in the foreground (``daemon off``) as one process (``master_process off``: one
process means one set of failure counters, and no privilege drop when started as root), in
its own session, with every file it writes (pid, temp directories, logs) inside a private
prefix directory. Its error log goes to ``nginx.error_log()``. It needs the ``nginx``
binary (``apt-get install nginx``), not any Python extra.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from highload.processes import accepts, kill_group, spawn, wait_until

__all__ = ["NginxServer", "find_nginx", "nginx_config", "upstream_config", "run_nginx", "start_nginx",
           "NGINX_MISSING", "NEXT_UPSTREAM_CONDITIONS", "BALANCE_METHODS"]

NGINX_MISSING = "nginx is not installed: install it with `apt-get install nginx` (Debian/Ubuntu)"

#: What ``proxy_next_upstream`` accepts.
NEXT_UPSTREAM_CONDITIONS = frozenset({
    "error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504",
    "http_403", "http_404", "http_429", "non_idempotent", "off",
})

#: How the upstream picks a server: nginx's default, ``least_conn``, ``ip_hash``, or a consistent
#: hash of a cookie (``hash $cookie_NAME consistent``: open-source nginx's sticky sessions).
BALANCE_METHODS = ("round_robin", "least_conn", "ip_hash", "cookie")

# Debian installs nginx in /usr/sbin, which is not on a non-root user's PATH.
_SBIN_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def find_nginx() -> str | None:
    """The nginx executable: on PATH, else in the usual sbin directories; None when absent."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in _SBIN_PATHS if os.path.isfile(p) and os.access(p, os.X_OK)), None)


def _duration(seconds: float, name: str) -> str:
    """An nginx time value: whole seconds as ``30s``, anything else in milliseconds."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ValueError(f"{name} must be a number of seconds > 0, got {seconds!r}")
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    millis = round(seconds * 1000)
    if millis < 1:
        raise ValueError(f"{name} must be at least 0.001 s, got {seconds!r}")
    return f"{millis}ms"


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


def _address(address: str, name: str) -> str:
    if not isinstance(address, str) or not re.fullmatch(r"[\w.\-\[\]:]+:\d+", address):
        raise ValueError(f"{name} must hold 'host:port' strings, got {address!r}")
    return address


def nginx_config(http: str, *, error_log_level: str = "warn", worker_connections: int = 256) -> str:
    """A whole ``nginx.conf`` around an ``http { ... }`` body, safe to run without root.

    Every path is relative, so it resolves inside the prefix ``run_nginx`` passes with ``-p``:
    the pid file, and the client-body, proxy, fastcgi, uwsgi and scgi temp directories.
    """
    body = "\n".join("    " + line if line.strip() else "" for line in http.strip().splitlines())
    return f"""\
daemon off;
master_process off;
worker_processes 1;
pid nginx.pid;
error_log stderr {error_log_level};

events {{
    worker_connections {worker_connections};
}}

http {{
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;

{body}
}}
"""


def upstream_config(
    upstreams: Sequence[str],
    backup: Sequence[str] = (),
    *,
    listen_port: int,
    listen_host: str = "127.0.0.1",
    max_fails: int = 3,
    fail_timeout: float = 30,
    next_upstream: str = "error timeout http_500 http_502 http_503",
    next_upstream_tries: int = 2,
    next_upstream_timeout: float = 10,
    connect_timeout: float = 2,
    read_timeout: float = 5,
    send_timeout: float = 5,
    name: str = "backend",
    balance: str = "round_robin",
    sticky_cookie: str = "session",
) -> str:
    """A passive-health-check setup (the usual nginx-guide one) as a complete ``nginx.conf``.

    One ``upstream`` with each primary as ``server ADDR max_fails=.. fail_timeout=..`` and
    each backup as ``server ADDR backup``, behind a ``server`` on ``listen_host:listen_port``
    that proxies everything to it with ``proxy_next_upstream`` retries (GET and other idempotent
    methods only, unless ``next_upstream`` adds ``non_idempotent``). Every response carries
    ``X-Upstream-Addr`` and ``X-Upstream-Status`` (``$upstream_addr``/``$upstream_status``),
    so a client can see which servers were tried: ``"500, 200"`` means one retry.
    ``X-Forwarded-For`` and ``X-Real-IP`` are overwritten with the client's socket address
    (``$remote_addr``), so an upstream that trusts this proxy learns the real client and a
    header the client made up never gets through.

    ``balance`` is one of :data:`BALANCE_METHODS`; ``"cookie"`` hashes the ``sticky_cookie``
    cookie, so one client's requests keep landing on one server while it is up.
    """
    if isinstance(upstreams, str) or not upstreams:
        raise ValueError(f"upstreams must be a non-empty list of 'host:port', got {upstreams!r}")
    if isinstance(backup, str):
        raise ValueError(f"backup must be a list of 'host:port', got {backup!r}")
    primaries = [_address(a, "upstreams") for a in upstreams]
    backups = [_address(a, "backup") for a in backup]
    if isinstance(listen_port, bool) or not isinstance(listen_port, int) or not 0 < listen_port < 65536:
        raise ValueError(f"listen_port must be a TCP port (1-65535), got {listen_port!r}")
    _count(max_fails, "max_fails")
    _count(next_upstream_tries, "next_upstream_tries")
    conditions = next_upstream.split() if isinstance(next_upstream, str) else []
    unknown = [c for c in conditions if c not in NEXT_UPSTREAM_CONDITIONS]
    if not conditions or unknown:
        raise ValueError(f"next_upstream must be space-separated conditions from "
                         f"{sorted(NEXT_UPSTREAM_CONDITIONS)}, got {next_upstream!r}")
    if not re.fullmatch(r"[A-Za-z_][\w]*", name):
        raise ValueError(f"name must be an nginx upstream name (letters, digits, _), got {name!r}")
    if balance not in BALANCE_METHODS:
        raise ValueError(f"balance must be one of {BALANCE_METHODS}, got {balance!r}")
    if not isinstance(sticky_cookie, str) or not re.fullmatch(r"[A-Za-z_][\w]*", sticky_cookie):
        raise ValueError(f"sticky_cookie must be a cookie name (letters, digits, _), got {sticky_cookie!r}")
    if backup and balance in ("ip_hash", "cookie"):
        # nginx refuses `backup` together with the hash methods.
        raise ValueError(f"backup servers cannot be combined with balance={balance!r} (nginx refuses it)")
    method = {"round_robin": "", "least_conn": "least_conn;", "ip_hash": "ip_hash;",
              "cookie": f"hash $cookie_{sticky_cookie} consistent;"}[balance]
    health = f"max_fails={max_fails} fail_timeout={_duration(fail_timeout, 'fail_timeout')}"
    servers = [f"server {a} {health};" for a in primaries] + [f"server {a} backup;" for a in backups]
    server_lines = "\n".join("    " + s for s in ([method] if method else []) + servers)
    http = f"""\
upstream {name} {{
    # Shared memory for the failure counters, so they hold across worker processes too.
    zone {name} 64k;
{server_lines}
}}

server {{
    listen {listen_host}:{listen_port};

    location / {{
        proxy_pass http://{name};
        # Overwrite, never append: a client's own X-Forwarded-For must not reach the app, or
        # anyone could claim any address. The upstream trusts these only from this proxy.
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_connect_timeout {_duration(connect_timeout, 'connect_timeout')};
        proxy_read_timeout {_duration(read_timeout, 'read_timeout')};
        proxy_send_timeout {_duration(send_timeout, 'send_timeout')};
        proxy_next_upstream {' '.join(conditions)};
        proxy_next_upstream_tries {next_upstream_tries};
        proxy_next_upstream_timeout {_duration(next_upstream_timeout, 'next_upstream_timeout')};
        add_header X-Upstream-Addr $upstream_addr always;
        add_header X-Upstream-Status $upstream_status always;
    }}
}}
"""
    return nginx_config(http)


@dataclass
class NginxServer:
    """A running nginx from :func:`run_nginx`."""

    host: str
    port: int
    prefix: Path
    process: subprocess.Popen = field(repr=False)
    owns_prefix: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"http://{host}:{self.port}"

    def error_log(self) -> str:
        """Everything nginx logged so far, e.g. ``upstream server temporarily disabled``."""
        return (self.prefix / "error.log").read_text(errors="replace")

    def stop(self) -> None:
        """Kill nginx's process group; remove the prefix if it was a temporary one. Idempotent."""
        kill_group(self.process)
        if self.owns_prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)


_LISTEN = re.compile(r"(?<![\w$])listen\s+(?:(?P<host>[\w.\-]+|\[[^\]]+\]):)?(?P<port>\d+)\b")


def _listen_address(config_text: str) -> tuple[str, int]:
    match = _LISTEN.search(config_text)
    if match is None:
        raise ValueError("config_text has no 'listen [host:]port' directive: pass port= to run_nginx")
    host = match["host"] or "127.0.0.1"
    return ("127.0.0.1" if host in ("0.0.0.0", "*", "localhost") else host), int(match["port"])


_PID = re.compile(r"(?<![\w$])pid\s+([^;\s]+)\s*;")


def _pid_file(config_text: str, root: Path) -> Path | None:
    match = _PID.search(config_text)
    return None if match is None else root / match[1]  # an absolute path replaces root


def start_nginx(config_text: str, *, port: int | None = None, prefix: str | os.PathLike | None = None,
                startup_timeout: float = 10) -> NginxServer:
    """Start nginx on ``config_text`` and return a :class:`NginxServer` once its port accepts.

    Runs ``nginx -p PREFIX -c PREFIX/nginx.conf -e stderr`` in its own session, with stderr
    (the error log) in ``PREFIX/error.log``. The port comes from the config's first ``listen``
    directive unless ``port`` is given. ``prefix`` defaults to a fresh temporary directory that
    :meth:`NginxServer.stop` removes. Raises ``FileNotFoundError`` naming ``apt-get install
    nginx`` when nginx is missing, and ``RuntimeError`` with nginx's own message when it does
    not start (the process group is killed first). The caller owns the result: call ``stop()``.
    """
    exe = find_nginx()
    if exe is None:
        raise FileNotFoundError(NGINX_MISSING)
    host, listen_port = _listen_address(config_text)
    port = listen_port if port is None else port
    own_prefix = prefix is None
    root = Path(tempfile.mkdtemp(prefix="highload-nginx-") if own_prefix else prefix).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
        conf = root / "nginx.conf"
        conf.write_text(config_text)
        pid_file = _pid_file(config_text, root)
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
        with open(root / "error.log", "wb") as log:
            process = spawn([exe, "-p", f"{root}/", "-c", str(conf), "-e", "stderr"], stdout=log, stderr=log)
    except BaseException:
        if own_prefix:
            shutil.rmtree(root, ignore_errors=True)
        raise
    server = NginxServer(host=host, port=port, prefix=root, process=process, owns_prefix=own_prefix)
    try:
        # nginx writes its pid file only after binding every listen socket, so a port
        # that accepts while the pid file is missing belongs to somebody else.
        if wait_until(lambda: (pid_file is None or pid_file.exists()) and accepts(host, port),
                      startup_timeout, process=process):
            return server
        state = f"exit code {process.returncode}" if process.poll() is not None \
            else f"no answer within {startup_timeout} s"
        raise RuntimeError(f"nginx did not start on {host}:{port} ({state}): "
                           f"{server.error_log().strip() or 'no output'}")
    except BaseException:
        server.stop()
        raise


@contextlib.contextmanager
def run_nginx(config_text: str, *, port: int | None = None, prefix: str | os.PathLike | None = None,
              startup_timeout: float = 10) -> Iterator[NginxServer]:
    """:func:`start_nginx` as a context manager: the process group is killed on exit and on
    error, and a temporary prefix is removed."""
    server = start_nginx(config_text, port=port, prefix=prefix, startup_timeout=startup_timeout)
    try:
        yield server
    finally:
        server.stop()
