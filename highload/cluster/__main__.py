"""``python -m highload.cluster up|down|status``: the shop cluster from a shell.

``up`` starts the cluster in the background and returns; its processes are recorded in the
state directory (``--state-dir``, default ``HIGHLOAD_CLUSTER_DIR`` or a per-user temp dir).
A second ``up`` replaces the first. ``down`` stops exactly the recorded processes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

from highload.nginx import BALANCE_METHODS

from . import processes
from .cluster import (
    CART_KINDS,
    LB_KINDS,
    Cluster,
    ClusterError,
    default_state_dir,
    read_state,
    stop_recorded,
)
from .processes import Managed


def _up(args) -> int:
    try:
        cluster = Cluster(args.instances, lb=args.lb, balance=args.balance, carts=args.carts,
                          max_in_flight=args.max_in_flight, io_delay=args.io_delay,
                          state_dir=args.state_dir).start()
    except (ValueError, TypeError, FileNotFoundError, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cluster.detach()
    print(cluster.describe())
    print(f"\nstate: {args.state_dir / 'cluster.json'}   stop with: python -m highload.cluster down")
    return 0


def _down(args) -> int:
    stopped = stop_recorded(args.state_dir)
    print(f"stopped {', '.join(stopped)}" if stopped else "no cluster was running")
    return 0


def _status(args) -> int:
    state = read_state(args.state_dir)
    if not state:
        print("no cluster is running (python -m highload.cluster up)")
        return 3
    print(f"load balancer {state['url']}  {state['lb']} ({state['balance']}), carts={state['carts']}")
    healthy = True
    for record in state["processes"]:
        managed = Managed(**record)
        running = processes.is_running(managed)
        answer = ""
        if running and managed.role != "redis":
            try:
                answer = f"  /health {httpx.get(f'http://{managed.address}/health', timeout=2).status_code}"
            except httpx.HTTPError as exc:
                answer = f"  /health failed: {type(exc).__name__}"
        healthy &= running
        print(f"  {managed.name:<9} pid {managed.pid:<7} port {managed.port:<6} "
              f"{'running' if running else 'DEAD'}{answer}")
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m highload.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start (or restart) the cluster in the background")
    up.add_argument("--instances", type=int, default=3)
    up.add_argument("--lb", choices=LB_KINDS, default="auto",
                    help="nginx, the embedded teaching proxy, or auto (nginx when installed)")
    up.add_argument("--balance", choices=BALANCE_METHODS, default="round_robin")
    up.add_argument("--carts", choices=CART_KINDS, default="redis")
    up.add_argument("--max-in-flight", type=int, default=None)
    up.add_argument("--io-delay", type=float, default=0.0)
    commands.add_parser("down", help="stop the recorded cluster")
    commands.add_parser("status", help="show the recorded processes and whether they answer")
    args = parser.parse_args(argv)
    return {"up": _up, "down": _down, "status": _status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
